"""Checks through the team's queue: one worker vs two, and what the queue costs one check.

    .venv/bin/python bench/queue_checks.py [--checks 6]

A throwaway PostgreSQL cluster (tests/support/postgres.py), an API replica with
`KEX_WORKERS=0`, and `keras-explainer worker` processes, all on this machine, checking a small
MobileNetV2 (alpha 0.35, 96×96, weights=None) uploaded again and again (recompute=true).

Printed, measured in one run:
  - one check with `wait=true`: the in-process pool (`serve --workers 1`) vs the queue with one
    worker, best of three each (the queue's overhead: ticket, job, a worker process polling and
    NOTIFY);
  - checks per minute with one worker and with two, `--checks` uploads sent at once. On a
    2-core machine two workers cannot double it: each check's two sides already use both.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx2  # noqa: E402
import keras  # noqa: E402
from _server import PROJECT, post_file, serving  # noqa: E402

from app.store.migrate import migrate  # noqa: E402
from tests.support.postgres import running_cluster  # noqa: E402

ENDED = {"passed", "failed", "error", "unsupported", "not_run"}


@contextmanager
def worker(team: dict[str, str]):
    with tempfile.TemporaryDirectory(prefix="kex-bench-worker-") as data:
        env = {**os.environ, "KEX_DATA_DIR": data}
        env.update({f"KEX_{k.upper()}": v for k, v in team.items()})
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--workers", "1"],
            cwd=PROJECT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield proc
        finally:
            proc.terminate()
            proc.wait(timeout=60)


def one_check(base: str, path: Path) -> float:
    start = time.perf_counter()
    response = post_file(base, path, wait="true")
    assert response.json()["check"]["status"] == "passed", response.text
    return time.perf_counter() - start


def per_minute(base: str, path: Path, checks: int) -> float:
    start = time.perf_counter()
    ids = [post_file(base, path).json()["id"] for _ in range(checks)]
    for report_id in ids:
        while True:
            check = httpx2.get(f"{base}/api/v1/reports/{report_id}/check").json()
            if check["status"] in ENDED:
                assert check["status"] == "passed", check
                break
            time.sleep(0.2)
    return checks / (time.perf_counter() - start) * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, running_cluster() as cluster:
        path = Path(folder) / "mobilenetv2.keras"
        keras.applications.MobileNetV2(alpha=0.35, input_shape=(96, 96, 3), weights=None).save(path)
        with serving(workers=1) as (base, _):
            one_check(base, path)  # warm-up
            pool_s = min(one_check(base, path) for _ in range(3))
        with cluster.database() as url:
            migrate(url)
            team = {"store_url": url, "shared_dir": str(Path(folder) / "shared")}
            rates = {}
            with serving(workers=0, **team) as (base, _), ExitStack() as workers:
                workers.enter_context(worker(team))
                one_check(base, path)  # warm-up: the worker's first check
                queue_s = min(one_check(base, path) for _ in range(3))
                rates[1] = per_minute(base, path, args.checks)
                workers.enter_context(worker(team))
                one_check(base, path)
                rates[2] = per_minute(base, path, args.checks)
    print(f"one check, in-process pool (wait=true) : {pool_s:6.2f} s")
    print(f"one check, through the queue           : {queue_s:6.2f} s")
    print(f"the queue's overhead                   : {queue_s / pool_s:6.2f}x")
    print(f"checks per minute, one worker          : {rates[1]:6.1f}")
    print(f"checks per minute, two workers         : {rates[2]:6.1f}")
    print(f"two workers / one                      : {rates[2] / rates[1]:6.2f}x")


if __name__ == "__main__":
    main()
