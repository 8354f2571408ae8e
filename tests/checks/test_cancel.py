"""Cancelling a check that runs on this machine's own workers (the queue's cancel is in
tests/postgres/test_queue_store.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from app.check import runner as runner_module
from app.reports import Options, Reports, Submission
from tests.support.api import make_client
from tests.support.models import seed_model, seed_spec
from tests.support.runner import PASSED, runner_job


def test_a_running_check_is_cancelled_and_stays_cancelled(tmp_path):
    """Cancelled while its Keras worker is still starting (a pool of its own with no spare:
    the TensorFlow import takes seconds): the check ends `cancelled`, and what the abandoned
    run finds afterwards is dropped."""
    spec = json.loads(seed_model().to_json())
    with make_client(tmp_path, workers=1, spare_workers=0) as client:
        made = client.post("/api/v1/reports", json={"spec": spec})
        report_id = made.json()["id"]
        assert made.json()["check"]["status"] == "queued"
        cancelled = client.post(f"/api/v1/reports/{report_id}/check/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["code"] == "cancelled"
        client.app.state.reports.checks.wait(report_id, 300)  # the abandoned run ends
        check = client.get(f"/api/v1/reports/{report_id}/check").json()
        assert (check["status"], check["code"]) == ("not_run", "cancelled")
        again = client.post(f"/api/v1/reports/{report_id}/check/cancel")
        assert again.status_code == 409 and again.json()["code"] == "check-ended"


def test_a_server_that_stops_ends_its_checks_and_leaves_nothing_behind(tmp_path):
    """Stopped while a check is queued or running (a pool of its own: its worker is killed):
    the check's folder is gone once the app has stopped, so nothing of ours writes into the
    data folder afterwards, and the stored report says the service stopped, not `running`."""
    spec = json.loads(seed_model().to_json())
    with make_client(tmp_path, workers=1, spare_workers=0) as client:
        report_id = client.post("/api/v1/reports", json={"spec": spec}).json()["id"]
        checks_dir = client.app.state.work_dir / "checks"
        assert list(checks_dir.iterdir())  # the check is under way
    assert list(checks_dir.iterdir()) == []
    with make_client(tmp_path) as client:
        check = client.get(f"/api/v1/reports/{report_id}/check").json()
    assert (check["status"], check["code"]) == ("error", "pool-stopped")


@pytest.fixture
def ended(tmp_path, runner, monkeypatch) -> Iterator[tuple[str, threading.Event]]:
    """A check of the `runner` that has written its final report (PASSED), its thread held
    just after, at the `check published` mark, until the event is set: the runner still
    counts it among its checks. Its report's id, and the event."""
    published, go_on = threading.Event(), threading.Event()

    def mark(what: str, pid: int | None = None) -> None:
        if what == "check published":
            published.set()
            go_on.wait(30)

    monkeypatch.setattr(runner_module.timeline, "mark", mark)
    report, _ = Reports(runner.store).create(Submission(spec=seed_spec()), Options(check=False))
    the_job = runner_job(tmp_path)
    the_job.report_id = report.id
    runner.start(the_job)
    the_job.mark_stored()
    assert published.wait(30)
    assert runner.store.get_check(report.id) == PASSED
    yield report.id, go_on
    go_on.set()


def test_a_cancel_after_the_final_report_leaves_it(runner, ended):
    """A cancel must neither say it cancelled the check nor put `cancelled` over its final
    report (it did both)."""
    report_id, _ = ended
    assert runner.cancel(report_id) is False
    assert runner.store.get_check(report_id) == PASSED


def test_a_server_that_stops_after_a_check_ended_leaves_its_report(runner, ended):
    """`pool-stopped` is for checks still running, not one whose final report is written."""
    report_id, go_on = ended
    threading.Timer(0.5, go_on.set).start()  # stop() waits for the check's thread
    runner.stop()
    assert runner.store.get_check(report_id) == PASSED
