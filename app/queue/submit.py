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

from procrastinate import App

from app.check.folder import CheckFolder
from app.check.pipeline import Check
from app.check.runner import busy
from app.queue.tasks import QUEUE, defer_check
from app.queue.ticket import write_ticket
from app.store.contract import Job
from app.store.postgres import PostgresReportStore

POLL_S = 0.25
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

    def wait(self, report_id: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            check = self.store.get_check(report_id)
            if check is None or check.status in ENDED:
                return
            time.sleep(POLL_S)

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
