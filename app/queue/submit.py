"""The API replica's side of queued checks: what `app.check.runner.CheckRunner` does on one
machine, with the queue in its place.

`admit` makes the check's folder in the shared folder (or answers 503 `busy` when the queue
is full, on every replica alike: the count is the queue's, not this process's); `start`
writes the ticket and gives back the job, which the store defers in the transaction that
stores the report; `wait` follows the stored check until it ends.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import psycopg
from procrastinate import App

from app.check.check import Check
from app.check.folder import CheckFolder
from app.check.runner import busy, cancelled
from app.queue.tasks import QUEUE, defer_check
from app.queue.ticket import write_ticket
from app.schemas import CheckReport
from app.store.contract import Job
from app.store.postgres import CHECK_CHANNEL, PostgresReportStore

POLL_S = 2.0  # the fallback: a missed notification costs at most this
ENDED = frozenset({"passed", "failed", "error", "unsupported", "not_run"})


class QueuedChecks:
    """Admits checks onto the shared queue, for workers on any host."""

    def __init__(
        self, store: PostgresReportStore, queue: App, shared_dir: Path, max_waiting: int
    ) -> None:
        self.store, self.queue = store, queue
        self.checks_dir = Path(shared_dir) / "checks"
        self.max_waiting = max_waiting

    def start_warm_reference(self) -> None:
        """Nothing to warm here: the workers run both sides."""

    def admit(self) -> CheckFolder:
        waiting = self.active()
        if waiting >= self.max_waiting:
            raise busy(waiting)
        self.checks_dir.mkdir(parents=True, exist_ok=True)
        return CheckFolder(Path(tempfile.mkdtemp(prefix="check-", dir=self.checks_dir)))

    def release(self, folder: CheckFolder | None) -> None:
        if folder is not None:
            shutil.rmtree(folder.path, ignore_errors=True)

    def start(self, check: Check) -> Job:
        write_ticket(check)
        name = check.folder.path.name
        return lambda connection: defer_check(self.queue, connection, check.report_id, name)

    def wait(self, report_id: str, timeout_s: float) -> CheckReport | None:
        """Until the check ends (read at every NOTIFY of this report, and every POLL_S in
        case a notification was missed), or `timeout_s` passes; the ended check as
        stored, else None."""
        deadline = time.monotonic() + timeout_s
        with psycopg.connect(self.store.url, autocommit=True) as listener:
            listener.execute(f"LISTEN {CHECK_CHANNEL}")
            while True:
                check = self.store.get_check(report_id)
                left = deadline - time.monotonic()
                if check is None or check.status in ENDED or left <= 0:
                    return check if check is not None and check.status in ENDED else None
                for _ in listener.notifies(timeout=min(POLL_S, left), stop_after=1):
                    pass

    def cancel(self, report_id: str) -> bool:
        """In one transaction: the job cancelled (or, running, asked to abort), a new attempt
        claimed so that the running one's writes are dropped, and the check cancelled."""
        with self.store.pool.connection() as db:
            row = db.execute(
                "SELECT id FROM procrastinate_jobs WHERE queue_name = %s "
                "AND args->>'report_id' = %s AND status IN ('todo', 'doing') FOR UPDATE",
                (QUEUE, report_id),
            ).fetchone()
            if row is None:
                return False
            self.queue.job_manager.cancel_job_by_id(row[0], abort=True, connection=db)
            db.execute(
                "UPDATE reports SET attempt = attempt + 1, check_json = %s WHERE id = %s",
                (cancelled().model_dump_json(), report_id),
            )
            db.execute("SELECT pg_notify(%s, %s)", (CHECK_CHANNEL, report_id))
        return True

    def active(self) -> int:
        """Checks waiting or running, on every replica and worker."""
        with self.store.pool.connection() as db:
            row = db.execute(
                "SELECT count(*) FROM procrastinate_jobs "
                "WHERE queue_name = %s AND status IN ('todo', 'doing')",
                (QUEUE,),
            ).fetchone()
        return row[0]

    def stop(self) -> None:
        """Nothing runs here."""
