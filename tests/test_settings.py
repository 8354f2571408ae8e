"""Settings reach what they configure: the reading process's caps (`KEX_READ_*`)."""

from __future__ import annotations

from app.config import Settings
from app.main import create_app


def test_reading_process_caps_come_from_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("KEX_READ_TIMEOUT_S", "7")
    monkeypatch.setenv("KEX_READ_MAX_MEMORY_BYTES", str(1 << 30))
    app = create_app(Settings(data_dir=tmp_path, workers=0))
    limits = app.state.reports.limits
    assert (limits.isolation_timeout_s, limits.isolation_memory_bytes) == (7.0, 1 << 30)
    assert limits.isolate_hdf5
