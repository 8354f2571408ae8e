"""Where the CPU of a check's reference side goes: its work, in this process, phase by phase.

    .venv/bin/python bench/reference_side_cpu.py [--model ResNet50] [--repeats 3] [FILE]

Runs app.check.reference_side.run on a check folder made here (seeded inputs, as a check
makes them; a `.keras` file of a `keras.applications` model with `weights=None`, or FILE),
as the check runs it: Keras beside (the streaming window set), one BLAS thread. For each
phase (the model read, the weights, the exported program, the forward writing every layer's
outputs, the BatchNormalization run in the other mode) the CPU time (user + system), and for
the whole its user and system time and minor page faults, then the bare forward (no outputs
written) as the floor, and the ratio. The best of --repeats by CPU. System time moves with the
machine's load (the page cache of some 400 MB written: layer outputs, the program's
weights); user time and the counts are the steadier figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["OPENBLAS_NUM_THREADS"] = "1"  # as app.check.warm_reference gives it on 2 cores
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from app.analysis.reference import run_reference  # noqa: E402
from app.check import reference_side as side  # noqa: E402
from app.check.folder import CheckFolder  # noqa: E402
from app.check.inputs import make_inputs, planned_inputs  # noqa: E402
from app.formats import read_model  # noqa: E402

PHASES = {
    "_load": "the model read",
    "materialize_weights": "the weights",
    "export_program": "the exported program",
    "_both_modes": "the BN run in the other mode",
}


def model_file(name: str, folder: Path) -> Path:
    import keras

    path = folder / f"{name}.keras"
    getattr(keras.applications, name)(weights=None).save(path)
    return path


def timed(spent: dict[str, float], attribute: str) -> Callable:
    """Replace reference_side's `attribute` by the same function adding its CPU time to
    `spent`; returns the function replaced."""
    real = getattr(side, attribute)

    def measured(*args, **kwargs):
        start = time.process_time()
        try:
            return real(*args, **kwargs)
        finally:
            spent[attribute] = spent.get(attribute, 0.0) + time.process_time() - start

    setattr(side, attribute, measured)
    return real


def one_run(path: Path, work: Path) -> dict[str, float]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    with read_model(path, side.ALREADY_REHEARSED) as loaded:
        arrays, _ = make_inputs(planned_inputs(loaded.graph), seed=0)
    np.savez(work / "inputs.npz", **{f"x{i}": a for i, a in enumerate(arrays)})
    request = side.ReferenceRequest(
        folder=str(work),
        model_path=str(path),
        kind="file",
        format="keras_v3",
        mode="inference",
        seed=0,
        window_bytes=1 << 30,
        tolerance=1e-4,
    )
    spent: dict[str, float] = {}
    real = {attribute: timed(spent, attribute) for attribute in PHASES}
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.process_time()
    result, _ = side.run(request, CheckFolder(work))
    side.write_result(CheckFolder(work), result)
    spent["whole"] = time.process_time() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    spent["user"] = after.ru_utime - before.ru_utime
    spent["system"] = after.ru_stime - before.ru_stime
    spent["minor faults"] = after.ru_minflt - before.ru_minflt
    for attribute, function in real.items():
        setattr(side, attribute, function)
    shutil.rmtree(work, ignore_errors=True)
    return spent


def bare_forward(path: Path) -> float:
    """The floor: our forward alone on the same inputs, lean (nothing kept or written), in
    CPU seconds."""
    with read_model(path, side.ALREADY_REHEARSED) as loaded:
        graph = loaded.graph
        side.resolve(graph, weights_in_file=True)
        weights = side.materialize_weights(graph, 0)
        arrays, _ = make_inputs(planned_inputs(graph), seed=0)
    start = time.process_time()
    run_reference(graph, weights, arrays, training=False, keep_all=False)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path)
    parser.add_argument("--model", default="ResNet50")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    side._event = lambda name: None  # no reader of the events here
    with tempfile.TemporaryDirectory() as folder:
        path = args.file or model_file(args.model, Path(folder))
        runs = [one_run(path, Path(folder) / "check") for _ in range(args.repeats)]
        floor = min(bare_forward(path) for _ in range(args.repeats))
    best = min(runs, key=lambda spent: spent["whole"])
    print(f"{path.name}: best of {args.repeats} by CPU")
    print(f"  {'reference side, whole':34} {best['whole'] * 1e3:7.0f} ms CPU")
    for attribute, what in PHASES.items():
        print(f"  {what:34} {best.get(attribute, 0.0) * 1e3:7.0f} ms")
    print(f"  {'user / system':34} {best['user'] * 1e3:7.0f} / {best['system'] * 1e3:.0f} ms")
    print(f"  {'minor page faults':34} {best['minor faults']:7.0f}")
    every = ", ".join(f"{r['whole'] * 1e3:.0f}" for r in runs)
    print(f"  {'all runs (whole)':34} {every} ms")
    print(f"bare forward (floor)                 {floor * 1e3:7.0f} ms CPU")
    print(f"ratio                                {best['whole'] / floor:7.2f}x")
    print("load average:", " ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
