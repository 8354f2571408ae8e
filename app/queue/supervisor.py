"""`keras-explainer worker`: takes checks off the queue and runs each as one machine does.

The supervisor is trusted (it holds the database's credentials); each check still runs Keras
in today's single-use sandboxed process (app.check.keras), so isolation is unchanged. For the
same reason it refuses to start where that process cannot get a network namespace of its own:
the model's code would otherwise reach the database with the supervisor's network.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from app.check.keras import WorkerPool
from app.check.keras.sandbox import network_isolation
from app.check.runner import CheckRunner
from app.config import Settings
from app.queue.fence import FencedStore
from app.queue.tasks import QUEUE, SUPERVISOR, queue_app
from app.queue.ticket import read_ticket
from app.store.postgres import PostgresReportStore

logger = logging.getLogger(__name__)
# How long a job waits for its check beyond the check's own limit (loading, comparing).
MARGIN_S = 120.0


class NoNetworkIsolation(RuntimeError):
    """The sandbox cannot have a network namespace here: no checks with our credentials."""


class Supervisor:
    """This worker's Keras pool and check runner, writing through the attempt fence."""

    def __init__(self, settings: Settings, pool: WorkerPool) -> None:
        assert settings.store_url is not None and settings.shared_dir is not None
        self.shared_dir = settings.shared_dir
        self.store = FencedStore(PostgresReportStore(settings.store_url))
        self.pool = pool
        self.runner = CheckRunner(
            pool,
            self.store,
            settings.work_dir / "checks",
            max_active=settings.workers,
            exports_dir=settings.exports_dir,
        )

    def start(self) -> None:
        self.pool.start()
        self.runner.start_warm_reference()

    def stop(self) -> None:
        self.runner.stop()
        self.pool.stop()
        self.store.close()

    def run(self, report_id: str, folder_name: str) -> None:
        """One attempt at the check of `report_id`, whose ticket is in `folder_name`."""
        folder = self.shared_dir / "checks" / Path(folder_name).name
        if self.store.begin(report_id) is None:  # the report was deleted meanwhile
            shutil.rmtree(folder, ignore_errors=True)
            return
        try:
            check = read_ticket(folder)
            check.mark_stored()
            self.runner.start(check)
            self.runner.wait(report_id, check.timeout_s + MARGIN_S)
        finally:
            self.store.end(report_id)


def run_worker(settings: Settings, pool: WorkerPool) -> None:
    """Take checks until SIGINT or SIGTERM, each run on `pool` (not started yet)."""
    if not network_isolation():
        raise NoNetworkIsolation(
            "The Keras sandbox cannot get a network namespace of its own here (unshare --net "
            "is refused), and this worker holds the database's credentials: it will not run "
            "checks. Run it where unprivileged network namespaces are allowed."
        )
    supervisor = Supervisor(settings, pool)
    supervisor.start()
    try:
        queue_app(settings.store_url or "").run_worker(
            queues=[QUEUE],
            concurrency=settings.workers,
            additional_context={SUPERVISOR: supervisor},
            name="keras-explainer",
        )
    finally:
        supervisor.stop()
