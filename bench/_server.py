"""A real `keras-explainer serve` process for the benchmarks, and how to read its memory."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx2

PROJECT = Path(__file__).resolve().parents[1]
STARTUP_S = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(workers: int = 0, **settings: str):
    """Yield (base URL, pid) of a server on a fresh data folder."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="kex-bench-") as data:
        env = {**os.environ, "KEX_DATA_DIR": data, "KEX_WORKERS": str(workers)}
        env.update({f"KEX_{k.upper()}": str(v) for k, v in settings.items()})
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            cwd=PROJECT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base, workers)
            yield base, proc.pid
        finally:
            proc.terminate()
            proc.wait(timeout=60)


def wait_healthy(base: str, workers: int) -> None:
    """Until /api/v1/health answers (and, with workers, every worker is warm: a spare still
    importing TensorFlow would take CPU from what is measured next)."""
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        try:
            health = httpx2.get(f"{base}/api/v1/health", timeout=2).json()
            state = health["workers"]
            if not workers or (state["warm"] >= 1 and state["starting"] == 0):
                return
        except (httpx2.TransportError, ValueError):
            pass
        time.sleep(0.2)
    raise TimeoutError("the server did not become ready")


def memory_kb(pid: int, field: str = "VmRSS") -> int:
    """A /proc/<pid>/status memory field (VmRSS: now; VmHWM: the peak so far), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def post_file(base: str, path: Path, **params: str) -> httpx2.Response:
    with path.open("rb") as fh:
        return httpx2.post(
            f"{base}/api/v1/reports",
            files={"file": (path.name, fh)},
            params={"recompute": "true", **params},
            timeout=600,
        )


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def add_settings_argument(parser: argparse.ArgumentParser) -> None:
    """`--set NAME=VALUE`, repeatable: a setting of the server the bench starts (KEX_NAME)."""
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a server setting (KEX_NAME), e.g. check_defer_initializers=false",
    )


def server_settings(args: argparse.Namespace) -> dict[str, str]:
    """The `--set` settings, for `serving(**settings)`."""
    return dict(item.split("=", 1) for item in args.set)
