"""Fuzz a real server for N minutes: schemathesis from its own OpenAPI document, and seeded
mutations of model files uploaded.

    .venv/bin/python bench/fuzz_api.py --minutes 30 [--workers 0] [--share 0.5] [--keep DIR]

A server on a fresh data folder (`KEX_WORKERS=--workers`: with 0, checks are `not_run` and
the run tests everything before Keras) gets schemathesis rounds (valid data, then invalid, in
turn; tests/support/api_fuzz.py) for `--share` of the time, then mutants of four small
models (`.keras` and legacy `.h5`; tests/support/fuzzing.py), 50 per file per round, for the
rest. Printed: how many cases ran, the answers by operation and status, the slowest answer,
the server's peak memory growth, and every 5xx (or request without an answer) with what was
sent. Exit status 1 when there was any. tests/safety/test_api_fuzz.py runs a minute of it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, uninstalled

from tests.support.api_fuzz import Outcome, fuzz_api, fuzz_files  # noqa: E402
from tests.support.fuzzing import original_files  # noqa: E402
from tests.support.live import memory_kb, reset_peak, serving  # noqa: E402

EXAMPLES = 100  # schemathesis cases per operation and round
MUTANTS = 50  # per original file and round


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--share", type=float, default=0.5, help="schemathesis's share")
    parser.add_argument("--keep", help="a folder where the slowest mutant is written")
    args = parser.parse_args()
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="kex-fuzz-") as folder:
        originals = original_files(Path(folder))
        with serving(Path(folder) / "data", workers=str(args.workers)) as server:
            before = memory_kb(server.pid)
            reset_peak(server.pid)
            api = fuzz_api(server.base, examples=EXAMPLES, seconds=seconds * args.share)
            files = _files_for(server.base, originals, seconds * (1 - args.share))
            growth = (memory_kb(server.pid, "VmHWM") - before) / 1024
        _print("schemathesis", api)
        _print("mutated files", files)
        if args.keep and files.slowest_upload is not None:
            kept = Path(args.keep) / "slowest-mutant"
            kept.write_bytes(files.slowest_upload)
            print(f"  the slowest mutant is kept in {kept}")
        print(f"server peak memory growth over the run: {growth:.1f} MB")
    return 1 if api.server_errors or files.server_errors else 0


def _files_for(base: str, originals: dict[str, bytes], seconds: float) -> Outcome:
    total, until, seed = Outcome(), time.monotonic() + seconds, 0
    while time.monotonic() < until:
        part = fuzz_files(base, originals, mutants=MUTANTS, first_seed=seed, until=until)
        total.cases += part.cases
        total.statuses.update(part.statuses)
        total.server_errors += part.server_errors
        if part.slowest_s > total.slowest_s:
            total.slowest_s, total.slowest = part.slowest_s, part.slowest
            total.slowest_upload = part.slowest_upload
        seed += MUTANTS
    return total


def _print(title: str, outcome: Outcome) -> None:
    print(f"{title}: {outcome.cases:,} cases, {len(outcome.server_errors)} server errors")
    for (operation, status), count in sorted(outcome.statuses.items()):
        print(f"  {operation:45} {status}: {count:,}")
    print(f"  slowest answer: {outcome.slowest_s:.2f} s ({outcome.slowest})")
    for error in outcome.server_errors:
        print(f"  {error.status} {error.operation}: query {error.query!r}, body {error.body!r}")
        print(f"      answer: {error.answer[:300]}")


if __name__ == "__main__":
    sys.exit(main())
