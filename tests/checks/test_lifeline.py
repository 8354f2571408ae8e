"""A check's child process ends when its parent is SIGKILLed (app.check.lifeline): the parent
keeps the child's stdin open after the request line, and the child exits at end-of-file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from app.check.lifeline import EXIT_ORPHANED

CHILD = """
import sys, time
sys.stdin.buffer.readline()  # the request line
{hold}
time.sleep(60)
"""
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdin=subprocess.PIPE)
child.stdin.write(b"request\\n")
child.stdin.flush()  # and kept open, as WorkerProcess.send does
print(child.pid, flush=True)
time.sleep(60)
"""


def orphan_after_parent_killed(hold: str) -> int:
    """Start parent → child, SIGKILL the parent, return the child's pid."""
    child_code = textwrap.dedent(CHILD.format(hold=hold))
    with subprocess.Popen(
        [sys.executable, "-c", PARENT, child_code], stdout=subprocess.PIPE
    ) as parent:
        child_pid = int(parent.stdout.readline())
        time.sleep(0.5)  # the child is past its request line
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    return child_pid


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return True
        if "\nState:\tZ" in state:
            return True
        time.sleep(0.05)
    return False


def test_the_child_ends_when_its_parent_is_killed():
    pid = orphan_after_parent_killed("from app.check import lifeline; lifeline.hold()")
    assert gone_within(pid, 10)


def test_without_the_lifeline_the_child_outlives_its_parent():
    """The control: what the lifeline changes (an orphan runs on, reparented)."""
    pid = orphan_after_parent_killed("")
    try:
        assert not gone_within(pid, 2)
    finally:
        os.kill(pid, signal.SIGKILL)


def test_the_orphan_exits_with_its_own_code():
    code = textwrap.dedent(CHILD.format(hold="from app.check import lifeline; lifeline.hold()"))
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)
    child.stdin.write(b"request\n")
    child.stdin.flush()
    time.sleep(0.5)
    child.stdin.close()  # what the parent's death does to the pipe
    assert child.wait(timeout=10) == EXIT_ORPHANED
