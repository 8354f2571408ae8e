"""One Keras worker process, seen from the parent: spawn, events, RSS, kill, reap.

The worker is ``python -m app.check.keras.worker`` started with ``subprocess.Popen`` (fork and
exec at once: the server itself is never forked into a Keras process) in a scrubbed
environment, with a private folder of its own as cwd, HOME, TMPDIR and KERAS_HOME. Its stdout
is read on a thread into a queue of parsed JSON events; its stderr goes to a log file in its
folder, shown only in the server log. No Keras import here.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import app.check.keras.worker as keras_worker
from app.check.keras.sandbox import command_prefix

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[3]
KERAS_WORKER = keras_worker.__name__  # importing it imports no Keras: only its main() does
EOF = object()  # put on the event queue when the worker's stdout closes
MAX_LINE_BYTES = 1 << 16


class WorkerProcess:
    """A running worker: its process, private folder, stdout events, reported versions."""

    def __init__(self, proc: subprocess.Popen, home: Path) -> None:
        self.proc, self.home = proc, home
        self.events: queue.Queue = queue.Queue()
        self.keras_version: str | None = None
        self.tf_version: str | None = None
        self.kill_reason: str | None = None

    @classmethod
    def spawn(
        cls,
        module: str = KERAS_WORKER,
        extra_env: dict[str, str] | None = None,
        niceness: int = 0,
    ) -> WorkerProcess:
        """Start ``python -m <module>`` in a new private folder (the Keras worker by default;
        the check's reference job uses the same process discipline), `niceness` lower in
        the CPU scheduler's priority (by `nice`, where the system has it)."""
        home = Path(tempfile.mkdtemp(prefix="kex-worker-"))
        nice = ["nice", "-n", str(niceness)] if niceness and shutil.which("nice") else []
        with (home / "stderr.log").open("wb") as stderr:
            proc = subprocess.Popen(
                [*nice, *command_prefix(), sys.executable, "-m", module],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=home,
                env={**worker_env(home), **(extra_env or {})},
                start_new_session=True,  # a Ctrl-C at the server's terminal is not theirs
            )
        worker = cls(proc, home)
        threading.Thread(target=worker._read_events, daemon=True).start()
        return worker

    @property
    def pid(self) -> int:
        return self.proc.pid

    def await_ready(self, timeout_s: float) -> bool:
        """Wait for ``{"event": "ready"}``; False when the process exits or times out first."""
        try:
            event = self.events.get(timeout=timeout_s)
        except queue.Empty:
            return False
        if not isinstance(event, dict) or event.get("event") != "ready":
            return False
        self.keras_version = str(event.get("keras_version"))
        self.tf_version = str(event.get("tf_version"))
        return True

    def send(self, line: bytes) -> None:
        """Write the one job line and keep stdin open: the worker's lifeline
        (app.check.lifeline), closed by `reap`; a dead worker is marked crashed."""
        try:
            self.proc.stdin.write(line)
            self.proc.stdin.flush()
        except OSError:
            self.kill("crashed")

    def rss_bytes(self) -> int | None:
        """``VmRSS`` in bytes, from /proc/<pid>/status; None once the process is gone."""
        try:
            with open(f"/proc/{self.pid}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmRSS:"):
                        return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            return None
        return None

    def kill(self, reason: str) -> None:
        """SIGKILL, remembering the first reason (read after the process ends)."""
        self.kill_reason = self.kill_reason or reason
        self.proc.kill()

    def reap(self) -> None:
        """Make sure the process is gone and its private folder removed."""
        if self.proc.poll() is None:
            self.kill("stopped")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            logger.error("worker %s did not exit after SIGKILL", self.pid)
        try:
            self.proc.stdin.close()
        except OSError:
            pass  # a dead worker's pipe may refuse the flush; it is closed all the same
        shutil.rmtree(self.home, ignore_errors=True)

    def stderr_tail(self, limit: int = 2000) -> str:
        """The end of the worker's stderr, for the server log only (never for a user)."""
        try:
            return (self.home / "stderr.log").read_text(errors="replace")[-limit:]
        except OSError:
            return "(no stderr)"

    def _read_events(self) -> None:
        """Parse stdout lines into ``events``; put ``EOF`` when stdout closes."""
        stdout = self.proc.stdout
        try:
            for raw in iter(lambda: stdout.readline(MAX_LINE_BYTES), b""):
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(event, dict):
                    self.events.put(event)
        finally:
            stdout.close()
            self.events.put(EOF)


def worker_env(home: Path) -> dict[str, str]:
    """Nothing of the server's environment but PATH: no secrets reach Keras."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(PROJECT_ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "HOME": str(home),
        "TMPDIR": str(home),
        "KERAS_HOME": str(home / ".keras"),
        "KERAS_BACKEND": "tensorflow",
        "CUDA_VISIBLE_DEVICES": "",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
