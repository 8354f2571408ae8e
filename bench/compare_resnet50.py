"""Comparing two ResNet50 files against one breakdown of one of them (issue 18: at most 2x).

    .venv/bin/python bench/compare_resnet50.py [--repeats 3]

Two `keras.applications.ResNet50(weights=None)` `.keras` files (98 MB each, seeds 1 and 2:
every weight differs). One breakdown: `app.explain.explain_file`, the report the API makes
(read in a throwaway process, every weight's statistics). The comparison:
`app.compare.task.compare_files`, what `keras-explainer diff` runs (both files read through
the same readers and safety scan in one throwaway process, every weight of both compared).
Best of `--repeats` each, after one warm-up. `POST /api/v1/comparisons` with two new files
also makes each side's report (two breakdowns) before comparing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from app.compare.task import SideFile, compare_files
from app.explain import explain_file
from app.safety.limits import DEFAULT_LIMITS

# A loaded machine can take longer than the readers' wall-clock limits; both sides get more.
PATIENT = replace(DEFAULT_LIMITS, isolation_floor_s=600.0, isolation_timeout_s=600.0)

# Keras runs in a process of its own: imported here, it would be imported again by the fork
# server that reads the files (it preloads this script's modules), and slow every read.
BUILD = """
import sys, keras
for seed, path in zip((1, 2), sys.argv[1:]):
    keras.utils.set_random_seed(seed)
    keras.applications.ResNet50(weights=None).save(path)
"""


def best_of(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(folder) / f"resnet50_{seed}.keras" for seed in (1, 2)]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        command = [sys.executable, "-c", BUILD, *map(str, paths)]
        subprocess.run(command, check=True, env=env, capture_output=True)
        breakdown_s = best_of(lambda: explain_file(paths[0], limits=PATIENT), args.repeats)
        sides = [SideFile(path, path.name) for path in paths]
        compare_s = best_of(lambda: compare_files(*sides, PATIENT), args.repeats)
        comparison = compare_files(*sides, PATIENT)
        size_mb = paths[0].stat().st_size / 1e6
    changed = comparison.counts.weights_changed
    print(f"files                  : 2 × ResNet50 .keras, {size_mb:.0f} MB")
    print(f"one breakdown          : {breakdown_s * 1e3:8.1f} ms")
    print(f"the comparison         : {compare_s * 1e3:8.1f} ms  ({changed} layers changed)")
    print(f"comparison / breakdown : {compare_s / breakdown_s:8.2f}x  (target <= 2x)")


if __name__ == "__main__":
    main()
