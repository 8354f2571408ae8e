"""Follow one report request through the code: which modules of `app` it enters, and from where.

    .venv/bin/python bench/trace_request.py [FILE]

Runs `Reports.create` on FILE (default: a `.keras` file of the corpus) with the check asked
for, in an app with one Keras worker, under `sys.setprofile`, as the upload route hands it
over (the file's sha256 taken on receipt). The throwaway process is not used
(`isolate_hdf5=False`), so what it would run is followed in this thread too: the whole way
from the submission to the stored report, in order. The check's own thread, the reference
process and the Keras worker are other threads and processes: not followed.

What is counted

    module        a file of `app`: `app/check/admission.py` is `check.admission`, a
                  package's `__init__.py` is the package.
    entry         a call from code of one module into a function of another. Returns are not
                  entries: control coming back to a caller does not enter it again. One call
                  site calling the same function again (a loop; a `for` resuming a generator;
                  a helper of the caller's module called in a loop) is one entry per visit of
                  the calling module (its outermost frame, until that frame returns).
    callback      a call into `app` made by a third-party library (h5py reading a weight
                  through the zip-member file object the safety scan opened): no line of ours
                  calls it, so it is no entry; listed apart, under the module whose call led
                  to it.
    climb         an entry from a module of a lower layer into one of a higher layer (LAYERS).
    import cycle  modules importing each other, directly or through others: `import_graph`
                  walks every `import` of app/ (deferred ones too); `from pkg import mod`
                  names the submodule `pkg.mod`, not the package.

Libraries (LIBRARIES) are tables and values every part reads: a call into one is not a
step of the request, so a library counts as part of the module that calls it (its own
calls are that module's calls). Each is a library because:

    graph            the model's graph: ModelGraph, LayerNode, WeightRef and their accessors
    schemas          the wire's pydantic models (Report, CheckReport, Source): values
    errors           the error classes: values every part raises
    config           Settings: values (read by main and the CLI, not on this request)
    display          numbers and shapes written as text: pure functions for pages and the
                     terminal (not on this request)
    app              the package itself: `__version__`
    timeline         a benchmark's instrument (app.timeline): a mark is a no-op unless
                     KEX_TIMELINE_FILE is set, not a step
    layers           the layer registry, one table entry per class: `lookup(name)`, an entry's
                     traits and its output-shape rule are reads of that table
    reference        the forward column of that table (each forward sits on its entry); the
                     forwards run only in the reference process, not followed here
    costs            the cost column of that table (each class's MACs/FLOPs rule sits on its
                     entry), asked about each layer as its output-shape rule is
    hand             the hand column of that table (each class's settings line, formula and
                     conventions sit on its entry), and `reference.source`, the forwards' text
    safety.allowlist the allowlist: the registry's modules plus the few other objects a config
                     may name; the config scan asks it about each object, a read of a table
    formats.hdf5     careful h5py access (a child by path over hard links only, a group's
                     children, a dataset as a lazy StoredWeight): the readers' h5py, called
                     where they would call h5py itself, which is not followed either
    formats.direct   a contiguous weight's values read from the file's bytes (DirectArray):
                     an array source the analyses slice as they would an h5py Dataset or
                     an ndarray, a value, not a step
    safety.hdf5_attrs an attribute of a scanned HDF5 file read as text (bytes, str or a 0-d
                     array from h5py): h5py's `attrs[name]`, decoded
    safety.layer_fields a layer config's fields read by the field table (app.layers.fields,
                     part of the `layers` library): the model config check asks it about each
                     layer, as the scan asks the allowlist about each object, a read of a table
    formats.keras1   the Keras 1 → 2 renames (`output_dim` → `units`, ...): a table of names
                     and the small functions that apply it, asked about each Keras 1 layer
    safety.member    a stored zip member as a file object (seek, readinto): reads of bytes,
                     by the scan and by h5py, as of a file

Everything else counts, even where it holds little more than values (`safety.refusals`,
`check.plan`, `formats.loaded`): calling into it is a step a reader follows. Frames of the
standard library (contextlib running a `with`, a dataclass's `__init__`) belong to the `app`
frame that called them.

Prints, per module in the order first entered: its entries and the functions that entered
it (module.function ×entries); the callbacks; the climbs, the import cycles and the imports
from a lower layer into a higher one (none of each, when all is well).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere, uninstalled

from app.config import Settings  # noqa: E402
from app.main import create_app  # noqa: E402
from app.reports import Options, Reports, Submission  # noqa: E402

APP = ROOT / "app"
CORPUS = ROOT.parent / "shared" / "corpus"
DEFAULT_FILE = CORPUS / "leyuzak_mnist_cnn_bn.keras"
# The parts of `app`, higher first: a module imports and calls only its own layer's modules
# and lower ones (a call up is a climb). The libraries are the lowest layer.
LAYERS = [
    ("cli", "main", "web", "terminal", "terminal_text"),
    ("reports", "diagnoses", "compare", "warm_up"),
    ("explain", "pairs", "diagnosis"),
    ("queue",),
    ("check",),
    ("export",),
    ("drawing",),
    ("isolation",),
    ("analysis",),
    ("formats",),
    ("safety",),
    ("layers",),
    ("siblings",),
    ("hand",),
    ("reference", "costs"),
    ("store", "retention"),
    ("graph", "schemas", "errors", "config", "display", "app", "timeline", "ast_guard"),
]
LIBRARIES = frozenset(
    {
        "graph",
        "schemas",
        "errors",
        "config",
        "display",
        "app",
        "timeline",
        "ast_guard",
        "safety.allowlist",
        "formats.hdf5",
        "formats.direct",
        "safety.member",
        "safety.hdf5_attrs",
        "safety.layer_fields",
        "formats.keras1",
    }
)
LIBRARY_PACKAGES = frozenset({"layers", "hand", "reference", "costs"})
RANK = {part: len(LAYERS) - i for i, parts in enumerate(LAYERS) for part in parts}
MAX_ENTRIES = 2  # issue 10's acceptance: each module entered at most twice
THIRD_PARTY = ("site-packages", "dist-packages")
# A generator's frame "returns" at every yield and lives on: its call sites are kept.
_SUSPENDS = 0x20 | 0x80 | 0x100 | 0x200  # CO_GENERATOR, COROUTINE, ITERABLE_, ASYNC_GENERATOR


def module_name(path: Path) -> str | None:
    """`check.admission` for app/check/admission.py, `check` for its `__init__.py`, `app` for
    app/__init__.py; None outside `app`."""
    if not path.is_relative_to(APP) or path.suffix != ".py":
        return None
    parts = path.relative_to(APP).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join(parts) or "app"


def part_of(module: str) -> str:
    return module.split(".")[0]


def is_library(module: str) -> bool:
    return module in LIBRARIES or part_of(module) in LIBRARY_PACKAGES


def rank(module: str) -> int:
    return RANK[part_of(module)]


@functools.cache
def _counted(filename: str) -> str | None:
    """The module code of `filename` counts as: None outside `app` and in a library."""
    found = module_name(Path(filename))
    return None if found is None or is_library(found) else found


@functools.cache
def _third_party(filename: str) -> bool:
    return any(folder in Path(filename).parts for folder in THIRD_PARTY)


def _caller(frame: FrameType | None) -> tuple[str | None, FrameType | None, bool]:
    """The module a call from `frame` counts as coming from, the frame of that module that
    made it (the call site), and whether third-party code stood between them."""
    via_library = False
    while frame is not None:
        found = _counted(frame.f_code.co_filename)
        if found is not None:
            return found, frame, via_library
        via_library = via_library or _third_party(frame.f_code.co_filename)
        frame = frame.f_back
    return None, None, via_library


def _visit(site: FrameType, module: str) -> FrameType:
    """The outermost frame of `module` around `site`, before another module's frame: the
    visit of `module` that the call site is part of."""
    visit, frame = site, site.f_back
    while frame is not None:
        found = _counted(frame.f_code.co_filename)
        if found is not None and found != module:
            break
        if found == module:
            visit = frame
        frame = frame.f_back
    return visit


@dataclass
class Tracer:
    """A `sys.setprofile` function: the entries (see the module docstring) in order."""

    entries: list[tuple[str, str]] = field(default_factory=list)  # (callee, caller.function)
    callbacks: Counter[tuple[str, str]] = field(default_factory=Counter)  # (callee, caller)
    climbs: list[tuple[str, str]] = field(default_factory=list)  # (caller, callee)
    _sites: dict[int, set] = field(default_factory=dict)  # id(visit frame) → its call sites

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            self._called(frame)
        elif event == "return" and not frame.f_code.co_flags & _SUSPENDS:
            self._sites.pop(id(frame), None)

    def _called(self, frame: FrameType) -> None:
        callee = _counted(frame.f_code.co_filename)
        if callee is None:
            return
        caller, site, via_library = _caller(frame.f_back)
        if callee == caller:
            return
        if caller is None or site is None:
            self.entries.append((callee, "(start)"))
            return
        where = f"{caller}.{site.f_code.co_qualname}"
        if via_library:
            self.callbacks[(callee, where)] += 1
            return
        key = (site.f_code, site.f_lineno, frame.f_code)
        seen = self._sites.setdefault(id(_visit(site, caller)), set())
        if key in seen:
            return  # the same call site again, in the same visit: a loop
        seen.add(key)
        self.entries.append((callee, where))
        if rank(callee) > rank(caller):
            self.climbs.append((caller, callee))

    def counts(self) -> Counter[str]:
        return Counter(callee for callee, _ in self.entries)


def follow(reports: Reports, path: Path) -> Tracer:
    """Trace `reports.create` on the file at `path`, the check asked for, as the upload route
    calls it: the file's sha256 and size taken on receipt (app.web.upload)."""
    data = path.read_bytes()
    digest = (hashlib.sha256(data).hexdigest(), len(data))
    submission = Submission(model_path=path, filename=path.name, owned=False, digest=digest)
    tracer = Tracer()
    sys.setprofile(tracer)
    try:
        reports.create(submission, Options(check=True))
    finally:
        sys.setprofile(None)
    return tracer


def trace(path: Path, data_dir: Path) -> Tracer:
    app = create_app(Settings(data_dir=data_dir, workers=1))
    reports = app.state.reports
    reports.limits = replace(reports.limits, isolate_hdf5=False)
    pool = app.state.pool
    pool.start()
    try:
        return follow(reports, path)
    finally:
        pool.stop()


def import_graph() -> dict[str, set[str]]:
    """Every module of `app` and the modules of `app` it imports (see the module docstring)."""
    known = {name: path for path in APP.rglob("*.py") if (name := module_name(path))}
    return {name: _imports(path, known) - {name} for name, path in known.items()}


def _imports(path: Path, known: dict[str, Path]) -> set[str]:
    named: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                named.add(sub if _ours(sub) in known else node.module)
        elif isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names}
    return {_ours(name) for name in named if name == "app" or name.startswith("app.")} - {""}


def _ours(name: str) -> str:
    """`check.admission` for `app.check.admission` (and for a name inside it, found by the
    caller trimming), `app` for `app`."""
    return name.removeprefix("app.") if name != "app" else "app"


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import one another (Tarjan's strongly connected components
    of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = [stack.pop()]
            while group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def upward_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(importer, imported) where the importer's layer is lower than the imported's."""
    return sorted((a, b) for a, bs in graph.items() for b in bs if rank(b) > rank(a))


def report(path: Path, tracer: Tracer) -> None:
    counts = tracer.counts()
    over = [name for name, n in counts.items() if n > MAX_ENTRIES]
    print(
        f"{path.name}: {len(counts)} modules entered, {len(tracer.entries)} entries; "
        f"entered more than {MAX_ENTRIES} times: {', '.join(over) or 'none'}"
    )
    width = max(map(len, counts), default=0)
    for name in counts:  # in the order first entered
        callers = Counter(where for callee, where in tracer.entries if callee == name)
        print(f"  {counts[name]:>2}  {name:<{width}}  ← {_listed(callers)}")
    callbacks = Counter(
        {f"{callee} ← {where}": n for (callee, where), n in tracer.callbacks.items()}
    )
    print(f"  callbacks from libraries: {_listed(callbacks) or 'none'}")
    climbs = Counter(f"{a} → {b}" for a, b in tracer.climbs)
    print(f"  climbs: {_listed(climbs) or 'none'}")
    graph = import_graph()
    cycles = "; ".join(" ↔ ".join(cycle) for cycle in import_cycles(graph))
    print(f"  import cycles: {cycles or 'none'}")
    upward = ", ".join(f"{a} → {b}" for a, b in upward_imports(graph))
    print(f"  imports up a layer: {upward or 'none'}")


def _listed(counts: Counter[str]) -> str:
    return ", ".join(f"{name} ×{n}" if n > 1 else name for name, n in counts.items())


def main(argv: list[str]) -> None:
    path = Path(argv[0]) if argv else DEFAULT_FILE
    with tempfile.TemporaryDirectory() as folder:
        report(path, trace(path, Path(folder)))


if __name__ == "__main__":
    main(sys.argv[1:])
