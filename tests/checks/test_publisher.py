"""A check starts before its report is stored: what it may write to the store, and when."""

from __future__ import annotations

import threading

from app.check import runner
from app.check.runner import _Publisher
from app.schemas import CheckProgress, CheckReport
from tests.support.runner import job


class RecordingStore:
    def __init__(self) -> None:
        self.written: list[tuple[str, str]] = []

    def set_check(self, report_id: str, check: CheckReport) -> None:
        self.written.append((report_id, check.status))


def running(stage: str) -> CheckReport:
    return CheckReport(status="running", progress=CheckProgress(stage=stage, done=0, total=1))


def test_progress_before_the_report_is_stored_is_not_written():
    store, the_job = RecordingStore(), job()
    publisher = _Publisher(store, the_job)
    publisher.progress(running("loading"))
    assert store.written == []
    the_job.mark_stored()
    publisher.progress(running("predicting"))
    assert store.written == [("r1", "running")]


def test_the_final_report_waits_for_the_report_to_be_stored():
    store, the_job = RecordingStore(), job()
    publisher = _Publisher(store, the_job)
    done = threading.Thread(target=publisher.final, args=(CheckReport(status="passed"),))
    done.start()
    done.join(0.3)
    assert done.is_alive() and store.written == []
    the_job.mark_stored()
    done.join(5)
    assert store.written == [("r1", "passed")]


def test_an_abandoned_check_writes_nothing_and_does_not_wait(monkeypatch):
    monkeypatch.setattr(runner, "STORED_WAIT_S", 60.0)
    store, the_job = RecordingStore(), job()
    publisher = _Publisher(store, the_job)
    the_job.abandon()
    publisher.progress(running("loading"))
    done = threading.Thread(target=publisher.final, args=(CheckReport(status="passed"),))
    done.start()
    done.join(5)
    assert not done.is_alive()
    assert store.written == []
