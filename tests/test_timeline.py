"""The benchmarks' timeline (app.timeline): off unless asked for; each mark one JSON line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from app import timeline


def test_nothing_is_written_unless_a_file_is_named(tmp_path):
    timeline.record_to(None)
    timeline.mark("upload received")
    assert list(tmp_path.iterdir()) == []


def test_each_mark_is_a_line_with_the_clock_and_this_process_cpu(tmp_path):
    path = tmp_path / "timeline.jsonl"
    timeline.record_to(path)
    try:
        before = time.time()
        timeline.mark("upload received")
        timeline.mark("model read")
    finally:
        timeline.record_to(None)
    first, second = [json.loads(line) for line in path.read_text().splitlines()]
    assert [first["what"], second["what"]] == ["upload received", "model read"]
    assert first["pid"] == os.getpid()
    assert before <= first["wall"] <= second["wall"] <= time.time()
    assert 0 <= first["cpu"] <= second["cpu"] <= time.process_time()


def test_another_process_cpu_is_read_from_proc():
    busy = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"
    child = subprocess.Popen([sys.executable, "-c", busy + "input()"], stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while (timeline.process_cpu_s(child.pid) or 0) < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert timeline.process_cpu_s(child.pid) >= 0.3  # clock ticks: whole hundredths
    finally:
        child.communicate(b"\n", timeout=30)
    assert timeline.process_cpu_s(child.pid) is None  # gone, and reaped
