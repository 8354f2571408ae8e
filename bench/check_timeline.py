"""Where a full check's time goes: each step of one request, with the clock and CPU time.

    .venv/bin/python bench/check_timeline.py [--model MobileNetV2] [--repeats 3] [FILE]

POSTs the model (a `keras.applications` one saved as `.keras`, `weights=None`, or FILE) with
`wait=true` to a real server with one warm worker that marks each step it reaches
(KEX_TIMELINE_FILE, app.timeline), after one request not measured (the server's own first
use). For the fastest of `--repeats` requests it prints each step: when it was reached after
the request was sent, and the CPU time the process that reached it had spent since the
request was sent (the serving process: every thread; the Keras worker and our reference
side: read from /proc when their event arrived, since the job was handed to them). Then the
check's own `timing` from the report, and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import (  # noqa: E402
    add_settings_argument,
    post_file,
    server_settings,
    serving,
    wait_healthy,
)


def model_file(name: str, folder: Path) -> Path:
    import keras

    path = folder / f"{name}.keras"
    getattr(keras.applications, name)(weights=None).save(path)
    return path


def one_request(base: str, path: Path, marks_file: Path) -> tuple[float, list[dict], dict]:
    """(seconds, the marks made meanwhile, the report's check) of one POST with wait=true."""
    wait_healthy(base, 1)
    time.sleep(0.5)  # the spare worker's start-up settles
    marks_file.write_text("")
    sent = time.time()
    report = post_file(base, path, wait="true").json()
    elapsed = time.time() - sent
    marks = [json.loads(line) for line in marks_file.read_text().splitlines()]
    marks.append({"what": "answer received (client)", "wall": sent + elapsed, "cpu": None})
    return elapsed, [{**m, "at": m["wall"] - sent} for m in marks], report["check"]


def print_timeline(marks: list[dict]) -> None:
    """Each mark: ms after sending; the CPU its process spent since its first mark here."""
    first_cpu: dict[int, float] = {}
    print(f"{'step':38} {'wall ms':>8} {'cpu ms':>8}  process")
    for m in sorted(marks, key=lambda m: m["at"]):
        pid, cpu = m.get("pid"), m.get("cpu")
        spent = ""
        if pid is not None and cpu is not None:
            first_cpu.setdefault(pid, cpu)
            spent = f"{(cpu - first_cpu[pid]) * 1e3:8.0f}"
        print(f"{m['what']:38} {m['at'] * 1e3:8.0f} {spent:>8}  {pid or ''}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path)
    parser.add_argument("--model", default="MobileNetV2")
    parser.add_argument("--repeats", type=int, default=3)
    add_settings_argument(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.file or model_file(args.model, Path(folder))
        marks_file = Path(folder) / "timeline.jsonl"
        settings = server_settings(args)
        with serving(workers=1, timeline_file=str(marks_file), **settings) as (base, _):
            one_request(base, path, marks_file)  # the server's first use
            runs = [one_request(base, path, marks_file) for _ in range(args.repeats)]
    elapsed, marks, check = min(runs, key=lambda run: run[0])
    assert check["status"] == "passed", check
    print(
        f"{path.name}: best of {args.repeats}: {elapsed * 1e3:.0f} ms "
        f"(all: {', '.join(f'{r[0] * 1e3:.0f}' for r in runs)} ms)"
    )
    print_timeline(marks)
    print("check timing:", json.dumps(check.get("timing")), "keras_call:", check.get("keras_call"))
    print("server settings:", args.set or "defaults")
    print("load average:", " ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
