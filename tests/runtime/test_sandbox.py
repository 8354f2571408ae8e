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


def test_without_root_the_namespace_comes_inside_a_user_namespace(monkeypatch):
    """Where a plain `unshare --net` is refused (any non-root user), the sandbox asks for the
    network namespace inside a new user namespace; with neither, no prefix at all."""
    from app.check.keras import sandbox

    refused = {tuple(sandbox.UNSHARE_NET)}
    monkeypatch.setattr(sandbox, "_works", lambda prefix: tuple(prefix) not in refused)
    sandbox.network_prefix.cache_clear()
    try:
        assert sandbox.command_prefix() == sandbox.UNSHARE_USER_NET
        refused.add(tuple(sandbox.UNSHARE_USER_NET))
        sandbox.network_prefix.cache_clear()
        assert sandbox.command_prefix() == [] and not sandbox.network_isolation()
    finally:
        sandbox.network_prefix.cache_clear()


def test_a_worker_in_a_user_namespace_cannot_reach_the_host(listening_port, monkeypatch):
    """The user-namespace form walls the network off too (run here as it would run for a
    user without root)."""
    from app.check.keras import sandbox

    monkeypatch.setattr(sandbox, "command_prefix", lambda: list(sandbox.UNSHARE_USER_NET))
    monkeypatch.setattr("app.check.keras.process.command_prefix", sandbox.command_prefix)
    assert probe(listening_port)["reached"] is False
