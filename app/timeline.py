"""Where a request's time goes: each step it reaches, with the clock and the CPU time spent so
far by the process doing it, appended to a file as one JSON line (bench/check_timeline.py
reads it). Off unless `KEX_TIMELINE_FILE` names the file (Settings.timeline_file): then a
mark costs one small append.

Marks are made in the serving process only, so that no sandboxed process is given a path
to write to: the steps of our reference side and the Keras worker are marked when their
events arrive here (a worker's progress lines, the reference side's `prepared` and `done`),
with that process's CPU time read from /proc/<pid>/stat. The reading process is marked by
what the serving process sees of it (`model read`, `report made`), with the serving
process's own CPU time.

    {"what": "keras loading done", "wall": 1764892800.12, "cpu": 2.41, "pid": 1234,
     "thread": "check_0"}
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_file: Path | None = None


def record_to(path: Path | None) -> None:
    """Append marks to `path` from now on (None: stop)."""
    global _file
    _file = path


def mark(what: str, pid: int | None = None) -> None:
    """`what` is reached now; `pid`: by that process (its CPU time), else by this one."""
    if _file is None:
        return
    cpu = time.process_time() if pid is None else process_cpu_s(pid)
    entry = {
        "what": what,
        "wall": time.time(),
        "cpu": cpu,
        "pid": pid or os.getpid(),
        "thread": threading.current_thread().name,
    }
    data = (json.dumps(entry) + "\n").encode()
    try:
        fd = os.open(_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    except OSError:
        pass  # a benchmark's instrument never fails a request


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of process `pid` so far (None once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
