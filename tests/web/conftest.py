"""An app on a fresh data folder per test, and the models the API tests upload."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app


def make_client(tmp_path, **settings) -> TestClient:
    """An app on its own data folder; no Keras workers unless `workers` is given."""
    settings = {"workers": 0, **settings}
    return TestClient(create_app(Settings(data_dir=tmp_path / "data", **settings)))


@pytest.fixture
def client(tmp_path) -> TestClient:
    with make_client(tmp_path) as client:
        yield client
