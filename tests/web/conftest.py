"""An app on a fresh data folder per test."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.api import make_client


@pytest.fixture
def client(tmp_path) -> TestClient:
    with make_client(tmp_path) as client:
        yield client
