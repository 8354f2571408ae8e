"""Follow one read of a model file through the code: which packages of `app` it enters.

    .venv/bin/python bench/trace_readers.py [FILE ...]

Reads each file with `read_model` as the reading process does (`isolate_hdf5=False`: the
throwaway process is not followed) under `sys.setprofile`, and prints, per file:

    calls into     calls from outside a package (or from the caller) into it, per package
    crossings      calls from a formats function into an safety function, and the other way;
                   "via library": the call came from a library that formats or safety called
                   (h5py reading through safety's zip member window, for instance)
    runs           formats and safety in the order they ran (the innermost frame of either,
                   after every call and return), repeats merged: `formats safety formats`
                   enters formats twice; "round trips" count each formats → safety → formats
                   (and safety → formats → safety) in that sequence

Frames outside `app` (the standard library, h5py, dataclass-made `__init__`) belong to the
`app` frame that called them. Without arguments: a `.keras` and a legacy `.h5` file of the
corpus, and a spec written from the `.keras` file's config.
"""

from __future__ import annotations

import sys
import zipfile
from collections import Counter
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere, uninstalled

from app.formats import read_model  # noqa: E402
from app.safety.limits import DEFAULT_LIMITS  # noqa: E402

APP = ROOT / "app"
CORPUS = ROOT.parent / "shared" / "corpus"
DEFAULT_FILES = ("leyuzak_mnist_cnn_bn.keras", "hls4ml_keras_3layer_batch_norm.h5")
LIMITS = replace(DEFAULT_LIMITS, isolate_hdf5=False)
READERS = frozenset({"formats", "safety"})


def package(frame: FrameType | None) -> str | None:
    """`formats`, `safety`, `graph`, ... for a frame of app code; None for any other."""
    if frame is None:
        return None
    path = Path(frame.f_code.co_filename)
    if not path.is_relative_to(APP):
        return None
    return path.relative_to(APP).parts[0].removesuffix(".py")


def app_package(frame: FrameType | None, among: frozenset[str] | None = None) -> str | None:
    """The package of the innermost `app` frame at or above `frame` (of one of `among`)."""
    while frame is not None:
        found = package(frame)
        if found is not None and (among is None or found in among):
            return found
        frame = frame.f_back
    return None


class Tracer:
    def __init__(self) -> None:
        self.calls_into: Counter[str] = Counter()
        self.crossings: Counter[tuple[str, str]] = Counter()
        self.via_library: Counter[tuple[str, str]] = Counter()
        self.runs: list[str] = []

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            self.call(frame)
        elif event == "return":
            self.ran(app_package(frame.f_back, READERS))

    def call(self, frame: FrameType) -> None:
        callee = package(frame)
        if callee is None:
            return
        caller = app_package(frame.f_back)
        direct = package(frame.f_back) is not None or caller is None
        if caller != callee:
            self.calls_into[callee] += 1
            (self.crossings if direct else self.via_library)[(caller or "-", callee)] += 1
        if direct:  # a library's callback (a file window's read) is not a step of the reading
            self.ran(app_package(frame, READERS))

    def ran(self, pkg: str | None) -> None:
        if pkg is not None and (not self.runs or self.runs[-1] != pkg):
            self.runs.append(pkg)


def trace(path: Path) -> Tracer:
    tracer = Tracer()
    sys.setprofile(tracer)
    try:
        read_model(path, LIMITS).close()
    finally:
        sys.setprofile(None)
    return tracer


def round_trips(runs: list[str], there: str, back: str) -> int:
    return sum(runs[i : i + 3] == [there, back, there] for i in range(len(runs) - 2))


def report(path: Path, tracer: Tracer) -> None:
    runs = tracer.runs
    entries = Counter(runs)
    print(f"\n{path.name}")
    print("  calls into:   " + ", ".join(f"{p} {n}" for p, n in tracer.calls_into.most_common()))
    for name, table in (("crossings:   ", tracer.crossings), ("via library: ", tracer.via_library)):
        print(f"  {name} formats→safety {table[('formats', 'safety')]}, "
              f"safety→formats {table[('safety', 'formats')]}")  # fmt: skip
    print(f"  runs:         formats entered {entries['formats']}, safety {entries['safety']}")
    print(f"  round trips:  formats→safety→formats {round_trips(runs, 'formats', 'safety')}, "
          f"safety→formats→safety {round_trips(runs, 'safety', 'formats')}")  # fmt: skip
    print("  sequence:     " + " ".join(runs))


def spec_of(keras_file: Path, folder: Path) -> Path:
    """The config.json of a `.keras` file, written alone: a spec as model.to_json() gives."""
    target = folder / f"{keras_file.stem}.json"
    with zipfile.ZipFile(keras_file) as archive:
        target.write_bytes(archive.read("config.json"))
    return target


def main(argv: list[str]) -> None:
    import tempfile

    files = [Path(a) for a in argv] or [CORPUS / name for name in DEFAULT_FILES]
    with tempfile.TemporaryDirectory() as folder:
        if not argv:
            files.append(spec_of(files[0], Path(folder)))
        for path in files:
            report(path, trace(path))


if __name__ == "__main__":
    main(sys.argv[1:])
