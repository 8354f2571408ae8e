"""Throughput with N concurrent clients uploading MobileNetV2, breakdown and check.

    .venv/bin/python bench/throughput.py [--clients 4] [--requests 12] [--workers 1]

Each client POSTs MobileNetV2(weights=None) `.keras` (14 MB) again and again (recompute=true,
so nothing comes from the store). Breakdown: check=false. Check: wait=true with `--workers`
Keras workers. Printed: requests per second, p50 and p95 latency, errors (target: none).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
from _server import post_file, serving  # noqa: E402


def run(base: str, path: Path, clients: int, requests: int, **params: str) -> None:
    def one(_: int) -> tuple[float, int]:
        start = time.perf_counter()
        response = post_file(base, path, **params)
        return time.perf_counter() - start, response.status_code

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one, range(requests)))
    wall = time.perf_counter() - start
    latencies = sorted(t for t, _ in results)
    errors = sum(1 for _, status in results if status >= 400)
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
    print(
        f"{params!s:40} {clients} clients: {requests / wall:6.2f} req/s, p50 "
        f"{statistics.median(latencies) * 1e3:7.0f} ms, p95 {p95 * 1e3:7.0f} ms, errors {errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=12)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mobilenetv2.keras"
        keras.applications.MobileNetV2(weights=None).save(path)
        queue = str(args.requests)
        with serving(workers=args.workers, max_queued_checks=queue) as (base, _):
            post_file(base, path, check="false")  # warm-up
            run(base, path, args.clients, args.requests, check="false")
            run(base, path, args.clients, args.requests, wait="true")


if __name__ == "__main__":
    main()
