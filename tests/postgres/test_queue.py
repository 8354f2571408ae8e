"""Checks on the team's queue, with real processes: an API replica that runs no Keras
(`KEX_WORKERS=0`) stores the report and its job in one transaction, and a separate
`keras-explainer worker` process takes the job and runs the check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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
    env = {**os.environ, "KEX_DATA_DIR": str(data_dir)}
    env.update({f"KEX_{name.upper()}": value for name, value in team.items()})
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--workers", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            yield proc
        finally:
            proc.terminate()
            proc.wait(timeout=60)


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
