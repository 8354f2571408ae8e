"""A request that waits for its check (`wait=true`) answers from the report it made and the
final check its runner published, without reading the report from the store again; the
answer is what a later GET of the report gives."""

from __future__ import annotations

import threading
from pathlib import Path

from app.reports import Options, Reports, Submission
from app.schemas import CheckReport
from app.store import SqliteReportStore
from tests.support.api import post
from tests.support.models import SEED_INPUT, seed_spec
from tests.support.runner import PASSED, runner_job


class CountingStore(SqliteReportStore):
    """The SQLite store, counting the reports read back whole."""

    gets = 0

    def get(self, report_id: str):
        self.gets += 1
        return super().get(report_id)


class EndedChecks:
    """Stands where the check runner stands: its `wait` gives what a check that ended here
    published (or None: it ended elsewhere, was cancelled, or is still running)."""

    def __init__(self, ended: CheckReport | None) -> None:
        self.ended = ended

    def wait(self, report_id: str, timeout_s: float) -> CheckReport | None:
        return self.ended


def stored_report(tmp_path: Path, checks: EndedChecks):
    store = CountingStore(tmp_path / "reports.db")
    reports = Reports(store)
    report, _ = reports.create(Submission(spec=seed_spec()), Options(check=False))
    reports.checks = checks  # type: ignore[assignment]
    return reports, store, report


def test_wait_answers_from_the_published_check_without_reading_the_store(tmp_path):
    reports, store, report = stored_report(tmp_path, EndedChecks(PASSED))
    answer = reports.wait(report, 1.0)
    assert store.gets == 0
    assert answer.check == PASSED
    assert answer.model_dump(exclude={"check"}) == report.model_dump(exclude={"check"})


def test_wait_reads_the_store_when_no_check_ended_here(tmp_path):
    reports, store, report = stored_report(tmp_path, EndedChecks(None))
    store.set_check(report.id, PASSED)  # as another process's runner would
    answer = reports.wait(report, 1.0)
    assert store.gets == 1
    assert answer.check == PASSED


def test_runner_wait_gives_the_final_check_it_published(tmp_path, runner):
    """Stored (and so published) only once `wait` has begun: a check that has ended
    before is no longer the runner's, and `wait` gives None for it."""
    the_job = runner_job(tmp_path)
    runner.start(the_job)
    threading.Timer(0.3, the_job.mark_stored).start()
    assert runner.wait(the_job.report_id, 10) == PASSED
    assert runner.store.get_check(the_job.report_id) is None  # no report row: nothing read


def test_runner_wait_gives_nothing_for_an_abandoned_check(tmp_path, runner):
    """Nothing was published (the store says what `cancel` wrote): the store is read."""
    the_job = runner_job(tmp_path)
    runner.start(the_job)
    the_job.abandon()
    assert runner.wait(the_job.report_id, 10) is None


def test_waited_answer_is_what_a_later_get_gives(warm_pool, tmp_path):
    with warm_pool.client(tmp_path) as client:
        response = post(client, json={"spec": seed_spec(), "inputs": SEED_INPUT.tolist()})
        assert response.status_code == 201
        assert response.json()["check"]["status"] == "passed"
        later = client.get(f"/api/v1/reports/{response.json()['id']}")
    assert later.status_code == 200
    assert response.content == later.content
