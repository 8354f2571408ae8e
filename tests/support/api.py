"""Apps for API tests, and the requests they make."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

POLL_S = 240


def make_client(tmp_path: Path, **settings: Any) -> TestClient:
    """An app on its own data folder; no Keras workers unless `workers` is given."""
    settings = {"workers": 0, **settings}
    return TestClient(create_app(Settings(data_dir=tmp_path / "data", **settings)))


def post(client: TestClient, **kwargs: Any):
    """POST /api/v1/reports and wait for the check (`wait=true`) unless params say otherwise."""
    params = kwargs.pop("params", {})
    return client.post("/api/v1/reports", params={"wait": "true", **params}, **kwargs)


def post_file(client: TestClient, path: Path, **kwargs: Any):
    """`post` with `path` uploaded as the model file (and any other `files`)."""
    with path.open("rb") as fh:
        files = {"file": (path.name, fh), **kwargs.pop("files", {})}
        return post(client, files=files, **kwargs)


def finished(client: TestClient, report_id: str) -> dict:
    """The report's check once it is neither queued nor running (polled for POLL_S)."""
    deadline = time.monotonic() + POLL_S
    while time.monotonic() < deadline:
        check = client.get(f"/api/v1/reports/{report_id}").json()["check"]
        if check["status"] not in ("queued", "running"):
            return check
        time.sleep(0.2)
    raise AssertionError("the check did not finish")
