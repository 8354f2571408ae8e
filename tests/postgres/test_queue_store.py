"""The queue's contract with the store, on a throwaway PostgreSQL: a report and its job in one
transaction, the attempt fence, NOTIFY of check updates, and 503 `busy` on every replica once
the shared queue is full."""

from __future__ import annotations

import json

import psycopg
import pytest

from app.explain import explain_spec
from app.schemas import CheckReport
from app.store.migrate import migrate
from app.store.postgres import CHECK_CHANNEL, PostgresReportStore
from app.web.examples import SPEC_EXAMPLE
from tests.support.api import make_client
from tests.support.models import seed_model


@pytest.fixture
def url(postgres_cluster):
    with postgres_cluster.database() as url:
        migrate(url)
        yield url


@pytest.fixture
def store(url):
    store = PostgresReportStore(url)
    yield store
    store.close()


def report():
    return explain_spec(SPEC_EXAMPLE).report


def test_a_report_whose_job_fails_to_be_queued_is_not_stored(store):
    def failing_job(connection):
        connection.execute("SELECT 1")
        raise RuntimeError("the queue refused")

    made = report()
    with pytest.raises(RuntimeError, match="the queue refused"):
        store.add(made, "key", job=failing_job)
    assert store.get(made.id) is None and store.find("key") is None


def test_a_report_and_its_job_are_stored_together(store, url):
    def job(connection):
        connection.execute("CREATE TABLE IF NOT EXISTS jobs_seen (id TEXT)")
        connection.execute("INSERT INTO jobs_seen VALUES ('one')")

    made = report()
    store.add(made, job=job)
    assert store.get(made.id) == made
    with psycopg.connect(url) as db:
        assert db.execute("SELECT id FROM jobs_seen").fetchall() == [("one",)]


def test_only_the_latest_attempt_writes_the_check(store):
    made = report()
    store.add(made)
    first = store.claim_attempt(made.id)
    second = store.claim_attempt(made.id)
    assert (first, second) == (1, 2)
    late = CheckReport(status="failed", message="from the dead attempt")
    assert store.set_check_fenced(made.id, late, first) is False
    final = CheckReport(status="passed", message="from the live attempt")
    assert store.set_check_fenced(made.id, final, second) is True
    assert store.get_check(made.id) == final
    assert store.claim_attempt("absent") is None


def test_check_updates_are_notified_with_the_report_id(store, url):
    made = report()
    store.add(made)
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHECK_CHANNEL}")
        store.set_check(made.id, CheckReport(status="passed", message="done"))
        heard = [note.payload for note in listener.notifies(timeout=10, stop_after=1)]
    assert heard == [made.id]


def test_a_dropped_write_is_not_notified(store, url):
    made = report()
    store.add(made)
    store.claim_attempt(made.id)
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHECK_CHANNEL}")
        late = CheckReport(status="failed", message="late")
        assert store.set_check_fenced(made.id, late, attempt=0) is False
        heard = list(listener.notifies(timeout=1, stop_after=1))
    assert heard == []


def test_a_full_queue_is_busy_on_every_replica(url, tmp_path):
    """One check may wait (KEX_MAX_QUEUED_CHECKS=1) and no worker takes it: the next upload
    gets 503 `busy` with Retry-After on either replica, nothing stored."""
    team = {"store_url": url, "shared_dir": str(tmp_path / "shared"), "max_queued_checks": 1}
    spec = json.loads(seed_model().to_json())
    with (
        make_client(tmp_path / "a", **team) as one,
        make_client(tmp_path / "b", **team) as other,
    ):
        first = one.post("/api/v1/reports", json={"spec": spec})
        assert first.status_code == 201 and first.json()["check"]["status"] == "queued"
        other_spec = {**spec, "config": {**spec["config"], "name": "another"}}
        for replica in (one, other):
            refused = replica.post("/api/v1/reports", json={"spec": other_spec})
            assert refused.status_code == 503, refused.text
            assert refused.json()["code"] == "busy"
            assert refused.headers["Retry-After"] == "15"
        assert one.get("/api/v1/health").json()["active_checks"] == 1
    with psycopg.connect(url) as db:
        assert db.execute("SELECT count(*) FROM reports").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (1,)


def test_a_queued_check_is_cancelled_once(url, tmp_path):
    team = {"store_url": url, "shared_dir": str(tmp_path / "shared")}
    spec = json.loads(seed_model().to_json())
    with make_client(tmp_path / "a", **team) as client:
        report_id = client.post("/api/v1/reports", json={"spec": spec}).json()["id"]
        cancelled = client.post(f"/api/v1/reports/{report_id}/check/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert (cancelled.json()["status"], cancelled.json()["code"]) == ("not_run", "cancelled")
        assert client.get(f"/api/v1/reports/{report_id}").json()["check"]["code"] == "cancelled"
        again = client.post(f"/api/v1/reports/{report_id}/check/cancel")
        assert again.status_code == 409 and again.json()["code"] == "check-ended"
        absent = client.post("/api/v1/reports/absent/check/cancel")
        assert absent.status_code == 404
    with psycopg.connect(url) as db:
        assert db.execute("SELECT status FROM procrastinate_jobs").fetchall() == [("cancelled",)]
        row = db.execute("SELECT attempt FROM reports WHERE id = %s", (report_id,)).fetchone()
        assert row == (1,)  # a worker that had started it would now write nothing


def test_a_job_back_after_its_check_ended_does_nothing(url, tmp_path):
    """A worker killed after its check ended but before the queue heard of it: the job comes
    back; the next worker leaves the ended check as it is (no new attempt, no error) and
    clears the folder."""
    from app.config import Settings
    from app.main import make_pool
    from app.queue.supervisor import Supervisor

    settings = Settings(
        data_dir=tmp_path / "data", store_url=url, shared_dir=tmp_path / "shared", workers=1
    )
    store = PostgresReportStore(url)
    made = report()
    store.add(made)
    passed = CheckReport(status="passed", message="Every layer within tolerance.")
    store.set_check(made.id, passed)
    folder = tmp_path / "shared" / "checks" / "check-left"
    folder.mkdir(parents=True)
    supervisor = Supervisor(settings, make_pool(settings))  # its pool never started
    try:
        supervisor.run(made.id, folder.name)
    finally:
        supervisor.store.close()
    assert store.get_check(made.id) == passed
    assert store.claim_attempt(made.id) == 1  # no attempt was taken before this one
    assert not folder.exists()
    store.close()
