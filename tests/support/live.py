"""A real `keras-explainer serve` process for tests that need real sockets or a browser."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx2

STARTUP_S = 60


@dataclass
class Server:
    base: str
    pid: int
    returncode: int | None = None  # how the process ended, once `serving` has stopped it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(
    data_dir: Path, environ: dict[str, str] | None = None, **settings: str
) -> Iterator[Server]:
    """The server on `data_dir`, with `KEX_<NAME>` settings (and `environ`); stopped on exit
    with SIGTERM, as `docker stop` and process managers stop it."""
    port = free_port()
    env = {**os.environ, **(environ or {}), "KEX_DATA_DIR": str(data_dir)}
    env.update({f"KEX_{name.upper()}": str(value) for name, value in settings.items()})
    # The log goes to a file, not a pipe: nobody reads a pipe while the server runs, and a
    # full one (64 KiB of log) blocks the server and its children at their next write.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        server = Server(base, proc.pid)
        try:
            wait_for_health(base, proc, log)
            yield server
        finally:
            proc.terminate()
            server.returncode = proc.wait(timeout=30)


def wait_for_health(base: str, proc: subprocess.Popen, log: IO[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(log.read().decode(errors="replace")[-2000:])
        try:
            if httpx2.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            time.sleep(0.2)
    raise TimeoutError("the server did not answer /api/v1/health")


def memory_kb(pid: int, field: str = "VmRSS") -> int:
    """A /proc/<pid>/status memory field (VmRSS: now; VmHWM: the peak since the last
    `reset_peak`), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak(pid: int) -> None:
    """Start VmHWM again from the current RSS (Linux 4.0+; writing 5 to clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def fork_server(pid: int) -> int:
    """The pid of the fork server that the server `pid` starts its reading processes from."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue  # ended while listed
        if parent == pid and b"multiprocessing.forkserver" in command:
            return int(stat.parent.name)
    raise LookupError(f"no fork server under {pid}")


@contextmanager
def paused(pid: int) -> Iterator[None]:
    """The process `pid` stopped (SIGSTOP) for the length of the block, then let go on."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)
