"""Siblings of a reading process: `beside(work)` runs `work` in a fork of the reading
process (app.isolation), on the other core, under the same walls: it inherits the memory
limit, dies with its parent, and answers bytes on a pipe of its own, which the caller checks
like any other answer. Used for every weight's statistics (app.analysis.shared_scans, from
app.explain) and for a `.keras` archive's CRC-32 (app.safety.member), so it sits below
both: it imports nothing of the app. app.isolation marks a reading process (`answers_fd`).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable

answers_fd: int | None = None  # in a reading process: where its answers go (app.isolation)


def forkable() -> bool:
    """One Python thread, and no TensorFlow: its native thread pools, which Python does not
    count, may hold a lock at the moment of the fork, which the child would wait on forever."""
    return threading.active_count() == 1 and "tensorflow" not in sys.modules


PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent ends


class Beside:
    """A sibling's work, seen from the reading process that forked it: `answers`, the pipe
    it answers on (read to its end: the sibling has ended or closed it), and `end()`."""

    def __init__(self, pid: int, answers: int) -> None:
        self.pid, self.answers = pid, answers
        self._status: int | None = None

    def end(self) -> None:
        """Kill the sibling if it still runs, and let go of it."""
        if self._status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap()
        if self.answers >= 0:
            os.close(self.answers)
            self.answers = -1

    def _reap(self) -> None:
        if self._status is None:
            self._status = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])


def can_fork_beside() -> bool:
    """Whether `beside` would fork: in a reading process that may be forked (`forkable`)."""
    return answers_fd is not None and forkable()


def beside(work: Callable[[], bytes]) -> Beside | None:
    """Run `work` in a sibling forked from this reading process; None (nothing started)
    outside a reading process, or where it may not be forked (`forkable`: a thread
    running). The sibling inherits the memory limit, closes the reading process's answer
    pipe (it never speaks for it), ends when its parent does (PR_SET_PDEATHSIG), and
    leaves by `os._exit`: nothing of its parent's runs again at its exit."""
    if not can_fork_beside():
        return None
    parent = os.getpid()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the sibling's coverage is not collected
        os.close(reader)
        _sibling_main(work, writer, parent)
    os.close(writer)
    return Beside(pid, reader)


def _sibling_main(work: Callable[[], bytes], writer: int, parent: int) -> None:
    code = 1
    try:
        os.close(answers_fd)  # type: ignore[arg-type]
        _die_with_parent(parent)
        answer = memoryview(work())
        while answer:
            answer = answer[os.write(writer, answer) :]
        code = 0
        # Ended now, not by the exit: the kernel closes a process's files only after it has
        # let go of its memory, which took ~2 ms of a reading process's copy, while the
        # reading process waited for the answer's end.
        os.close(writer)
    finally:
        os._exit(code)


def _die_with_parent(parent: int) -> None:
    """SIGKILL when the parent ends; at once if it already has."""
    import ctypes  # here: only a sibling needs it (~2 ms of every command's imports)

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0 or os.getppid() != parent:
        os._exit(1)
