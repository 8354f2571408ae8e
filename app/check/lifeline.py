"""A check's child process ends when its parent does, whatever killed the parent.

The parent writes the one request line to the child's stdin and keeps the pipe open; the
child, once it has its request, watches that pipe on a thread and exits at end-of-file. Only
the parent holds the write end, so end-of-file means the parent is gone (or is done with the
child): SIGKILL included, which no handler in the parent can catch. Not PR_SET_PDEATHSIG: it
fires when the *thread* that spawned the child exits, and the parent spawns from short-lived
threads (a check's, a queue job's).
"""

from __future__ import annotations

import os
import sys
import threading

EXIT_ORPHANED = 70  # the parent went away before the child finished (never seen by a parent)


def hold() -> None:
    """Watch stdin after the request line: exit the process when the parent closes it."""
    threading.Thread(target=_watch, name="lifeline", daemon=True).start()


def _watch() -> None:
    stdin = sys.stdin.buffer
    while stdin.read(1 << 12):
        pass  # the parent writes nothing more; anything it did write is not ours to act on
    os._exit(EXIT_ORPHANED)
