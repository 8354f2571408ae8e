"""Apps for API tests, the requests they make, and the one warm pool of Keras workers.

Every check consumes one Keras worker (one job per process) and a fresh pool pays a
TensorFlow import per worker before its first check. So the apps of the tests that leave a
pool as they found it borrow one session-wide `WarmPool` (the `warm_pool` fixture of
tests/conftest.py); a test that kills workers, changes the pool's limits or leaves a check
running starts a pool of its own (`make_client(..., workers=1)`) and says why.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from app.check.keras import WorkerPool
from app.config import Settings
from app.main import create_app, make_pool

POLL_S = 240
# How long a borrower's checks may take to end after its app has stopped.
IDLE_S = 120


def make_client(tmp_path: Path, pool: WorkerPool | None = None, **settings: Any) -> TestClient:
    """An app on its own data folder. No Keras workers unless `workers` is given (a pool of
    its own) or `pool` is lent (then `workers` is 1, that pool's size)."""
    settings = {"workers": 0 if pool is None else 1, **settings}
    return TestClient(create_app(Settings(data_dir=tmp_path / "data", **settings), pool))


class WarmPool:
    """The pool an app built with default settings and `workers=1` would make, started once
    and lent to one app after another.

    A borrower must give it back healthy: nothing running or queued, no failed spawns. If it
    does not, the pool is stopped (the next borrower gets a new one, so no other test fails
    because of it) and the borrower fails.
    """

    def __init__(self) -> None:
        self._pool: WorkerPool | None = None

    @contextmanager
    def lent(self) -> Iterator[WorkerPool]:
        if self._pool is None:
            pool = make_pool(Settings(workers=1))
            assert pool is not None
            pool.start()
            self._pool = pool
        yield self._pool
        self._take_back()

    @contextmanager
    def client(self, folder: Path, **settings: Any) -> Iterator[TestClient]:
        """`make_client(folder, pool)` on the lent pool, given back when the client closes."""
        with self.lent() as pool, make_client(folder, pool, **settings) as client:
            yield client

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool = None

    def _take_back(self) -> None:
        assert self._pool is not None
        deadline = time.monotonic() + IDLE_S
        state = self._pool.state()
        while _working(state) and time.monotonic() < deadline:
            time.sleep(0.2)
            state = self._pool.state()
        if _working(state) or state["spawn_failures"]:
            self.stop()
            raise AssertionError(f"the shared Keras pool was given back unhealthy: {state}")


def _working(state: dict[str, Any]) -> bool:
    return bool(state["busy"] or state["queued"])


def post(client: TestClient, **kwargs: Any):
    """POST /api/v1/reports and wait for the check (`wait=true`) unless params say otherwise."""
    params = kwargs.pop("params", {})
    return client.post("/api/v1/reports", params={"wait": "true", **params}, **kwargs)


def post_file(client: TestClient, path: Path, **kwargs: Any):
    """`post` with `path` uploaded as the model file (and any other `files`)."""
    with path.open("rb") as fh:
        files = {"file": (path.name, fh), **kwargs.pop("files", {})}
        return post(client, files=files, **kwargs)


def npy_upload(array: np.ndarray, name: str = "x.npy") -> tuple[str, bytes]:
    """`array` as an uploaded `.npy` file: the `(filename, bytes)` of a `files` entry."""
    buffer = io.BytesIO()
    np.save(buffer, array)
    return name, buffer.getvalue()


def finished(client: TestClient, report_id: str) -> dict:
    """The report's check once it is neither queued nor running (polled for POLL_S)."""
    deadline = time.monotonic() + POLL_S
    while time.monotonic() < deadline:
        check = client.get(f"/api/v1/reports/{report_id}").json()["check"]
        if check["status"] not in ("queued", "running"):
            return check
        time.sleep(0.2)
    raise AssertionError("the check did not finish")
