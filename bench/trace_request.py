"""Follow one report request through the code: which modules of `app` it enters, how often.

    .venv/bin/python bench/trace_request.py [FILE]

Runs `Reports.create` on FILE (default: a `.keras` file of the corpus) with the check asked
for, in an app with one Keras worker, under `sys.setprofile`. The throwaway process is not
used (`isolate_hdf5=False`), so what it would run is followed in this thread too: the whole
way from the submission to the stored report, in order. The check's own thread and the
Keras worker are other threads and processes; they are not followed. Prints:

    entered      per part of `app` (`reports`, `explain`, `check`, `analysis`, `formats`,
                 `safety`, ...), how often control entered it (repeats merged: `a b a`
                 enters `a` twice); the most entered first
    climbs       calls from a part into one of a higher layer (LAYERS, below): a lower
                 part calling back up into its caller's part
    sequence     the parts in the order they ran

Frames outside `app` (the standard library, h5py, pydantic) belong to the `app` frame that
called them.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere, uninstalled

from app.config import Settings  # noqa: E402
from app.main import create_app  # noqa: E402
from app.reports import Options, Submission  # noqa: E402

APP = ROOT / "app"
CORPUS = ROOT.parent / "shared" / "corpus"
DEFAULT_FILE = CORPUS / "leyuzak_mnist_cnn_bn.keras"
# Higher first: a call from a part into a part above it is a climb back up.
LAYERS = [
    ("web", "main"),
    ("reports",),
    ("explain",),
    ("check",),
    ("isolation",),
    ("analysis",),
    ("formats",),
    ("safety",),
    ("layers",),
    ("reference",),
    ("store",),
]
# Tables and values every part reads (the graph, the registry, the schemas): a call into them
# is not a step of the request, so they count as a part of their caller.
LIBRARIES = frozenset({"graph", "layers", "reference", "schemas", "errors", "config", "display"})
RANK = {part: len(LAYERS) - i for i, parts in enumerate(LAYERS) for part in parts}


def module(frame: FrameType | None) -> str | None:
    """The part of `app` a frame runs in (`check`, `explain`, ...); None outside `app` and
    in the parts every other part uses as a library (LIBRARIES)."""
    if frame is None:
        return None
    path = Path(frame.f_code.co_filename)
    if not path.is_relative_to(APP):
        return None
    part = path.relative_to(APP).parts[0].removesuffix(".py")
    return None if part in LIBRARIES else part


def app_module(frame: FrameType | None) -> str | None:
    while frame is not None:
        found = module(frame)
        if found is not None:
            return found
        frame = frame.f_back
    return None


def rank(part: str) -> int:
    return RANK[part]


class Tracer:
    def __init__(self) -> None:
        self.sequence: list[str] = []
        self.climbs: Counter[tuple[str, str]] = Counter()

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            callee, caller = module(frame), app_module(frame.f_back)
            if callee is not None and caller is not None and rank(callee) > rank(caller):
                self.climbs[(caller, callee)] += 1
            self.ran(app_module(frame))
        elif event == "return":
            self.ran(app_module(frame.f_back))

    def ran(self, name: str | None) -> None:
        if name is not None and (not self.sequence or self.sequence[-1] != name):
            self.sequence.append(name)


def trace(path: Path, data_dir: Path) -> Tracer:
    app = create_app(Settings(data_dir=data_dir, workers=1))
    reports = app.state.reports
    reports.limits = replace(reports.limits, isolate_hdf5=False)
    pool = app.state.pool
    pool.start()
    tracer = Tracer()
    try:
        submission = Submission(model_path=path, filename=path.name, owned=False)
        sys.setprofile(tracer)
        try:
            reports.create(submission, Options(check=True))
        finally:
            sys.setprofile(None)
    finally:
        pool.stop()
    return tracer


def report(path: Path, tracer: Tracer) -> None:
    entered = Counter(tracer.sequence)
    print(f"{path.name}: {len(entered)} parts, {len(tracer.sequence)} entries")
    print("  entered:  " + ", ".join(f"{m} {n}" for m, n in entered.most_common()))
    climbs = ", ".join(f"{a} → {b} {n}" for (a, b), n in tracer.climbs.most_common()) or "none"
    print(f"  climbs:   {climbs}")
    print("  sequence: " + " ".join(tracer.sequence))


def main(argv: list[str]) -> None:
    path = Path(argv[0]) if argv else DEFAULT_FILE
    with tempfile.TemporaryDirectory() as folder:
        report(path, trace(path, Path(folder)))


if __name__ == "__main__":
    main(sys.argv[1:])
