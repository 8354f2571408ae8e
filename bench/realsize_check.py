"""The check of a real-size model through the API: its time and every process's peak memory.

    .venv/bin/python bench/realsize_check.py [--model ResNet50] [--size 224]

A real server with one warm Keras worker gets `keras.applications.<model>(weights=None)` as a
`.keras` file with the check on and default inputs (wait=true). Printed: the check's status
and code, the time until the answer, and the peak resident memory of the serving process
(VmHWM, and its growth over the RSS before the upload) and of each process it started
while the check ran (the Keras worker, our reference side), sampled every 20 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
from _server import memory_kb, post_file, serving  # noqa: E402

SAMPLE_S = 0.02


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children's children too), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def role(pid: int) -> str:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"
    for name in ("app.check.keras.worker", "app.check.reference_side", "app.isolation"):
        if name in cmdline:
            return name.rsplit(".", 1)[-1]
    return cmdline[:60]


class Sampler(threading.Thread):
    """Peak VmRSS of every process below the server while it runs."""

    def __init__(self, server: int) -> None:
        super().__init__(daemon=True)
        self.server, self.peaks, self.roles = server, {}, {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for pid in descendants(self.server):
                try:
                    rss = memory_kb(pid)
                except (OSError, KeyError):
                    continue
                self.roles.setdefault(pid, role(pid))
                self.peaks[pid] = max(self.peaks.get(pid, 0), rss)
            time.sleep(SAMPLE_S)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="ResNet50")
    parser.add_argument("--size", type=int, default=0, help="input side; 0: the default")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        shape = {"input_shape": (args.size, args.size, 3)} if args.size else {}
        model = getattr(keras.applications, args.model)(weights=None, **shape)
        path = Path(folder) / f"{args.model.lower()}.keras"
        model.save(path)
        small = Path(folder) / "small.keras"
        keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(small)
        with serving(workers=1) as (base, pid):
            assert post_file(base, small, wait="true").status_code == 201  # warm-up
            time.sleep(3)  # the spare worker used by the warm-up is replaced
            before = memory_kb(pid)
            sampler = Sampler(pid)
            sampler.start()
            start = time.perf_counter()
            response = post_file(base, path, wait="true")
            seconds = time.perf_counter() - start
            sampler.stop.set()
            sampler.join()
            check = response.json()["check"]
            peak = memory_kb(pid, "VmHWM")
        print(
            f"{args.model} {model.input_shape}: {response.status_code} {check['status']} "
            f"{check.get('code') or ''} {check.get('message') or ''}"
        )
        print(f"  time until the answer: {seconds:.2f} s; timing: {check.get('timing')}")
        print(
            f"  server: RSS before {before / 1024:.0f} MB, peak {peak / 1024:.0f} MB "
            f"(growth {(peak - before) / 1024:.0f} MB)"
        )
        for child, kb in sorted(sampler.peaks.items(), key=lambda item: -item[1]):
            print(f"  {sampler.roles[child]:20} pid {child}: peak RSS {kb / 1024:.0f} MB")


if __name__ == "__main__":
    main()
