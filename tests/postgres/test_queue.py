"""Checks on the team's queue, with real processes: an API replica that runs no Keras
(`KEX_WORKERS=0`) stores the report and its job in one transaction, and a separate
`keras-explainer worker` process takes the job and runs the check."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx2
import psycopg
import pytest

from app.store.migrate import migrate
from tests.support.live import serving
from tests.support.models import seed_model

CHECK_S = 300


@pytest.fixture
def team(postgres_cluster, tmp_path) -> Iterator[dict[str, str]]:
    """The settings every replica and worker of one team shares."""
    with postgres_cluster.database() as url:
        migrate(url)
        shared = tmp_path / "shared"
        shared.mkdir()
        yield {"store_url": url, "shared_dir": str(shared)}


@contextmanager
def worker(data_dir: Path, team: dict[str, str]) -> Iterator[subprocess.Popen]:
    """A `keras-explainer worker` process, terminated on exit (if still running)."""
    env = {**os.environ, "KEX_DATA_DIR": str(data_dir), "KEX_QUEUE_HEARTBEAT_S": "1"}
    env.update({f"KEX_{name.upper()}": value for name, value in team.items()})
    log_path = data_dir.parent / f"{data_dir.name}.log"  # kept: a failing test prints it
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--workers", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=60)


def slow_enough_model():
    from tests.support.kerasref import keras

    return keras.applications.MobileNetV2(alpha=0.35, input_shape=(96, 96, 3), weights=None)


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines())
        except (OSError, ValueError):
            continue
        children.setdefault(int(fields["PPid"]), []).append(int(fields["Pid"]))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in state  # a zombie has ended; only its parent may reap it


def wait_for_status(base: str, report_id: str, wanted: str) -> None:
    deadline = time.monotonic() + CHECK_S
    while time.monotonic() < deadline:
        if httpx2.get(f"{base}/api/v1/reports/{report_id}/check").json()["status"] == wanted:
            return
        time.sleep(0.1)
    raise TimeoutError(f"the check of {report_id} never was {wanted}")


def wait_for_end(base: str, report_id: str) -> dict:
    deadline = time.monotonic() + CHECK_S
    while time.monotonic() < deadline:
        check = httpx2.get(f"{base}/api/v1/reports/{report_id}/check").json()
        if check["status"] not in ("queued", "running"):
            return check
        time.sleep(0.5)
    raise TimeoutError(f"the check of {report_id} did not end")


@pytest.mark.slow
def test_a_replica_without_workers_queues_the_check_and_a_worker_runs_it(team, tmp_path):
    spec = json.loads(seed_model().to_json())
    with serving(tmp_path / "api", workers="0", **team) as api:
        health = httpx2.get(f"{api.base}/api/v1/health").json()
        assert health["checks"] == "enabled"
        made = httpx2.post(f"{api.base}/api/v1/reports", json={"spec": spec}, timeout=60)
        assert made.status_code == 201, made.text
        report_id = made.json()["id"]
        assert made.json()["check"]["status"] == "queued"
        with psycopg.connect(team["store_url"]) as db:  # committed with the report
            jobs = db.execute("SELECT args->>'report_id', status FROM procrastinate_jobs")
            assert jobs.fetchall() == [(report_id, "todo")]
        with worker(tmp_path / "worker", team):
            check = wait_for_end(api.base, report_id)
        assert check["status"] == "passed", check
        with psycopg.connect(team["store_url"]) as db:
            row = db.execute("SELECT attempt FROM reports WHERE id = %s", (report_id,))
            assert row.fetchone() == (1,)
            jobs = db.execute("SELECT status FROM procrastinate_jobs").fetchall()
            assert jobs == [("succeeded",)]
        assert list((Path(team["shared_dir"]) / "checks").iterdir()) == []  # folder consumed


@pytest.mark.slow
def test_a_check_whose_worker_is_killed_is_finished_by_another(team, tmp_path):
    """Two workers; SIGKILL the one running the check: its sandboxed processes end with it
    (the lifeline), its job goes back in the queue after three silent heartbeats, and the
    other worker finishes it as the report's second attempt: one final result. The model
    takes seconds to check (a small MobileNetV2), so the kill lands while it runs."""
    spec = json.loads(slow_enough_model().to_json())
    with serving(tmp_path / "api", workers="0", **team) as api:
        made = httpx2.post(f"{api.base}/api/v1/reports", json={"spec": spec}, timeout=60)
        report_id = made.json()["id"]
        with worker(tmp_path / "first", team) as first:
            wait_for_status(api.base, report_id, "running")  # on the first, the only one
            with worker(tmp_path / "second", team):
                below = descendants(first.pid)
                assert below  # its Keras and reference processes
                first.kill()
                first.wait(timeout=30)
                deadline = time.monotonic() + 30
                while any(alive(pid) for pid in below) and time.monotonic() < deadline:
                    time.sleep(0.2)
                assert not any(alive(pid) for pid in below), "sandboxed processes outlived it"
                check = wait_for_end(api.base, report_id)
        assert check["status"] == "passed", check
        with psycopg.connect(team["store_url"]) as db:
            row = db.execute("SELECT attempt FROM reports WHERE id = %s", (report_id,))
            assert row.fetchone() == (2,)
            jobs = db.execute("SELECT status, attempts FROM procrastinate_jobs").fetchall()
            assert jobs == [("succeeded", 2)]  # procrastinate counts the dead attempt too


@pytest.mark.slow
def test_a_replica_killed_during_wait_loses_nothing_and_a_restart_resumes(team, tmp_path):
    """SIGKILL the replica a `wait=true` upload is blocked on: the same upload to the other
    replica gives the same report and no second job. Then everything stops and starts again:
    the report is kept and its queued check runs once a worker comes."""
    spec = json.loads(seed_model().to_json())
    with (
        serving(tmp_path / "a", workers="0", **team) as one,
        serving(tmp_path / "b", workers="0", **team) as other,
    ):
        with ThreadPoolExecutor(max_workers=1) as background:
            blocked = background.submit(
                httpx2.post,
                f"{one.base}/api/v1/reports",
                json={"spec": spec},
                params={"wait": "true"},
                timeout=120,
            )
            wait_until_stored(team["store_url"])
            os.kill(one.pid, signal.SIGKILL)
            with pytest.raises(httpx2.TransportError):
                blocked.result(timeout=60)
        again = httpx2.post(f"{other.base}/api/v1/reports", json={"spec": spec}, timeout=60)
        assert again.status_code == 200, again.text  # found, not made again
        report_id = again.json()["id"]
        with psycopg.connect(team["store_url"]) as db:
            assert db.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (1,)
            assert db.execute("SELECT id FROM reports").fetchall() == [(report_id,)]
    with serving(tmp_path / "c", workers="0", **team) as restarted:
        kept = httpx2.get(f"{restarted.base}/api/v1/reports/{report_id}")
        assert kept.status_code == 200 and kept.json()["check"]["status"] == "queued"
        with worker(tmp_path / "worker", team):
            assert wait_for_end(restarted.base, report_id)["status"] == "passed"


def wait_until_stored(url: str) -> None:
    deadline = time.monotonic() + 60
    with psycopg.connect(url, autocommit=True) as db:
        while db.execute("SELECT count(*) FROM reports").fetchone() == (0,):
            if time.monotonic() > deadline:
                raise TimeoutError("no report was stored")
            time.sleep(0.1)
