"""Fixtures shared by the check's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.check import runner as runner_module
from app.check.runner import CheckRunner
from app.store import SqliteReportStore
from tests.support.kerasref import keras
from tests.support.models import randomize_weights
from tests.support.runner import PASSED


@pytest.fixture(scope="module")
def conv_file(tmp_path_factory):
    """Two Conv2D layers of 64 × 64 × 8 float32 outputs: 131,072 bytes each per sample
    (the real-size caps' and the disk budget's tests work their figures out from these)."""
    path = tmp_path_factory.mktemp("conv") / "conv.keras"
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((64, 64, 3)),
            layers.Conv2D(8, 3, padding="same"),
            layers.Conv2D(8, 3, padding="same", activation="relu"),
        ]
    )
    randomize_weights(model).save(path)
    return path


@pytest.fixture
def runner(tmp_path, monkeypatch) -> Iterator[CheckRunner]:
    """The server's runner, whose checks end at once with `PASSED` (tests.support.runner)."""
    monkeypatch.setattr(runner_module, "run_check", lambda *args: PASSED)
    store = SqliteReportStore(tmp_path / "reports.db")
    checks = CheckRunner(None, store, tmp_path / "checks", max_active=1)  # type: ignore[arg-type]
    monkeypatch.setattr(checks.references, "refill", lambda: None)  # no process to start
    yield checks
    checks.stop()
