"""The walls around a worker process, observed from inside one."""

from __future__ import annotations

import json
import os
import socket

import pytest

from app.check.keras.pool import job_limits
from app.check.keras.process import WorkerProcess
from app.check.keras.sandbox import apply_limits, network_isolation

TIMEOUT_S = 60


@pytest.fixture
def listening_port():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def probe(port: int, limits=None) -> dict:
    worker = WorkerProcess.spawn("tests.runtime.probe")
    try:
        if limits is not None:
            apply_limits(worker.pid, limits)
        worker.send((json.dumps({"port": port}) + "\n").encode())
        event = worker.events.get(timeout=TIMEOUT_S)
        assert isinstance(event, dict), worker.stderr_tail()
        return {**event, "private": str(worker.home)}
    finally:
        worker.reap()


def test_worker_cannot_reach_a_server_on_the_host(listening_port):
    assert network_isolation(), "unshare --net is refused on this machine"
    assert probe(listening_port)["reached"] is False


def test_worker_gets_the_job_rlimits_from_its_parent(listening_port):
    limits = job_limits(timeout_s=10, max_file_bytes=1 << 20)
    seen = probe(listening_port, limits)
    assert seen["fsize"] == [1 << 20, 1 << 20]
    assert seen["nofile"] == [512, 512]
    assert seen["core"] == [0, 0]
    soft, hard = seen["cpu"]
    assert limits.cpu_s <= soft <= limits.cpu_s + 2 and hard == soft + 5


def test_worker_environment_is_scrubbed_and_private(listening_port, monkeypatch):
    monkeypatch.setenv("KEX_SECRET_TOKEN", "do-not-leak")
    seen = probe(listening_port)
    assert "KEX_SECRET_TOKEN" not in seen["environment"]
    assert seen["home"] == seen["tmpdir"] == seen["private"]
    assert not os.path.exists(seen["private"])  # removed when the worker is reaped
