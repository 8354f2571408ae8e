"""Faults are survived: a worker killed mid-check, a model past the timeout, a full queue.
Breakdowns keep being served meanwhile.

Each test starts a Keras pool of its own instead of borrowing the session's warm one: one
kills a worker, two set the pool's own limits (timeout, memory ceiling) that kill it, and
one leaves a slow check running when it ends. If the pool did not recover, no other test
would fail for it. They run their checks one after another, so their pools keep no spare:
a spare would be one more TensorFlow import on a machine the tests share.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from app.errors import UnreadableFile
from tests.support.api import finished, make_client
from tests.support.models import SEED_INPUT, seed_spec, slow_model

WAIT_S = 120


@pytest.fixture(scope="module")
def slow_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("slow") / "slow.keras"
    slow_model().save(path)
    return path


def post_file(client, path, **params):
    return client.post(
        "/api/v1/reports", files={"file": (path.name, path.read_bytes())}, params=params
    )


def wait_until(predicate, timeout_s=WAIT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def busy_pids(client):
    return client.app.state.pool.busy_pids()


def test_killed_worker_ends_the_check_in_error_and_the_next_one_passes(tmp_path, slow_file):
    with make_client(tmp_path, workers=1, spare_workers=0) as client:
        report = post_file(client, slow_file).json()
        wait_until(lambda: busy_pids(client))
        breakdown = client.post(
            "/api/v1/reports", json={"spec": seed_spec()}, params={"check": "false"}
        )
        assert breakdown.status_code == 201  # served while Keras is busy
        os.kill(busy_pids(client)[0], signal.SIGKILL)
        check = finished(client, report["id"])
        assert (check["status"], check["code"]) == ("error", "worker-crashed")
        assert "Keras worker stopped" in check["message"]
        after = client.post(
            "/api/v1/reports",
            json={"spec": seed_spec(), "inputs": SEED_INPUT.tolist()},
            params={"wait": "true"},
        )
        assert after.json()["check"]["status"] == "passed"


def test_model_past_the_timeout_ends_in_error_timeout(tmp_path, slow_file):
    with make_client(tmp_path, workers=1, spare_workers=0, check_timeout_s=8) as client:
        report = post_file(client, slow_file, wait="true").json()
        check = report["check"]
        assert (check["status"], check["code"]) == ("error", "timeout"), check
        assert "8 s" in check["message"]
        assert client.get("/api/v1/health").status_code == 200
        again = post_file(client, slow_file, check="true")
        assert again.status_code == 201  # an errored check is not served from the store
        assert again.json()["id"] != report["id"]


def test_a_model_gets_the_time_of_its_forward_beyond_the_floor(tmp_path, slow_file):
    """The slow model's LSTM(4) over 2,000,000 steps of 1 feature: 4 gates × 4 units ×
    (1 + 4) = 80 MACs a step, 1.6e8 a sample, 3.2e8 at the seeded batch 2: 3.2 s at the
    default 1e8 MACs a second, over the 1 s floor (it predicts for ~30 s)."""
    with make_client(tmp_path, workers=1, spare_workers=0, check_timeout_s=1) as client:
        check = post_file(client, slow_file, wait="true").json()["check"]
        assert (check["status"], check["code"]) == ("error", "timeout"), check
        assert "3.2 s" in check["message"]


def test_more_checks_than_the_queue_holds_get_503_busy(tmp_path, slow_file):
    with make_client(
        tmp_path, workers=1, spare_workers=0, max_queued_checks=0, check_timeout_s=60
    ) as client:
        first = post_file(client, slow_file)
        assert first.status_code == 201
        second = post_file(client, slow_file, recompute="true")
        assert second.status_code == 503
        assert second.json()["code"] == "busy"
        assert int(second.headers["retry-after"]) > 0
        alone = post_file(client, slow_file, check="false")
        assert alone.status_code == 201


def test_worker_over_its_memory_ceiling_ends_the_check_in_error(tmp_path, slow_file):
    with make_client(tmp_path, workers=1, spare_workers=0, worker_max_rss_bytes=64 << 20) as client:
        report = post_file(client, slow_file, wait="true").json()
        check = report["check"]
        assert (check["status"], check["code"]) == ("error", "memory-exceeded"), check


@pytest.mark.slow  # a pool of its own, warmed before the upload: about a minute
def test_a_check_whose_report_failed_stops_its_keras_worker_at_once(
    tmp_path, slow_file, monkeypatch
):
    """The check starts as soon as the model is read; when the report then fails (here its
    statistics, as a file refused by the full reading would), nothing will ever show the
    check, so its Keras job and reference process are stopped, not left to run their ~30 s."""

    def refused(self):
        time.sleep(5)  # the Keras job is running by then
        raise UnreadableFile("The file could not be read.")

    monkeypatch.setattr("app.explain._InChild.report", refused)
    with make_client(tmp_path, workers=1, spare_workers=0) as client:
        assert client.app.state.pool.wait_ready(WAIT_S)  # the job runs, not waits for a worker
        response = post_file(client, slow_file)
        answered = time.monotonic()
        assert (response.status_code, response.json()["code"]) == (400, "unreadable-file")
        wait_until(lambda: client.app.state.reports.checks.active() == 0, timeout_s=60)
        assert time.monotonic() - answered < 5
        wait_until(lambda: client.app.state.pool.state()["busy"] == 0, timeout_s=5)
        assert list(client.app.state.work_dir.glob("check-*")) == []
