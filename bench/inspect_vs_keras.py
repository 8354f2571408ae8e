"""`keras-explainer inspect` of ResNet50 against a cold Keras process printing its summary.

    .venv/bin/python bench/inspect_vs_keras.py [--repeats 3]

Both sides get the same ResNet50(weights=None) `.keras` file (103 MB) and start as fresh
processes, as a user in a terminal would start them: ours is `keras-explainer inspect P`
(the terminal report: totals, layers, BatchNormalization, every weight's statistics);
Keras' is `python -c "import keras; keras.models.load_model(P).summary()"`. The two are
run in turns (ours, Keras', ours, ...) so that both see the same load on a shared machine,
and each is the best of `--repeats` runs after one unmeasured run of each (which caches
their bytecode: see CHILD_ENV), by wall clock and by CPU time (user + system, of
the process and every process it started: this one is made their subreaper, so that a
grandchild left behind, such as a fork server, is counted too). On a shared machine under
load the CPU ratio is the steadier one. Target (issue 12): ours at least 10x faster.

Also printed: how long a fresh interpreter takes to import what the command's tables use
(`import app.cli, app.terminal_text`: app.cli imports each command's modules where it runs
it), the floor under any `inspect`.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
KERAS_SUMMARY = "import keras, sys; keras.models.load_model(sys.argv[1]).summary()"
PR_SET_CHILD_SUBREAPER = 36
# Both sides with their bytecode cached, as a user's install has it (pip compiles Keras'
# files when it installs them): with PYTHONDONTWRITEBYTECODE set, as on this project's
# machines, ours was compiled from source at every run (0.2 s of CPU) and Keras' was not.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
# As the command imports them: the collector paused, one OpenBLAS thread, pydantic's plugins
# off (app.cli's `_print_tables`).
IMPORT_CLI = (
    "import gc, os, time; t = time.perf_counter(); import app.cli; gc.disable(); "
    "os.environ.setdefault('OPENBLAS_NUM_THREADS', '1'); "
    "os.environ.setdefault('PYDANTIC_DISABLE_PLUGINS', '__all__'); import app.terminal_text; "
    "print(time.perf_counter() - t)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "resnet50.keras"
        keras.applications.ResNet50(weights=None).save(path)
        ours = [sys.executable, "-m", "app.cli", "inspect", str(path)]
        theirs = [sys.executable, "-c", KERAS_SUMMARY, str(path)]
        runs: dict[str, list[tuple[float, float]]] = {"ours": [], "keras": []}
        timed(ours), timed(theirs)  # unmeasured: each side's bytecode cached, as installed
        for _ in range(args.repeats):
            runs["ours"].append(timed(ours))
            runs["keras"].append(timed(theirs))
    import_s = min(import_time() for _ in range(args.repeats))
    ours_wall, ours_cpu = (min(run[i] for run in runs["ours"]) for i in (0, 1))
    keras_wall, keras_cpu = (min(run[i] for run in runs["keras"]) for i in (0, 1))
    print("file                            : ResNet50 .keras, 103 MB")
    print(f"cold keras load_model + summary : {keras_wall:6.2f} s wall, {keras_cpu:6.2f} s CPU")
    print(f"keras-explainer inspect         : {ours_wall:6.2f} s wall, {ours_cpu:6.2f} s CPU")
    print(
        f"speed-up                        : {keras_wall / ours_wall:6.1f}x wall, "
        f"{keras_cpu / ours_cpu:6.1f}x CPU  (target >= 10x)"
    )
    print(f"import for the tables (fresh)   : {import_s * 1e3:6.0f} ms")


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its children) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=PROJECT, check=True, capture_output=True, env=CHILD_ENV)
    wall = time.perf_counter() - start
    reap_orphans()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def reap_orphans() -> None:
    """Wait for the descendants the command left behind (they are ours: subreaper), so that
    their CPU time is in RUSAGE_CHILDREN."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def import_time() -> float:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_CLI],
        cwd=PROJECT,
        check=True,
        capture_output=True,
        env=CHILD_ENV,
    )
    return float(done.stdout)


if __name__ == "__main__":
    main()
