"""`keras-explainer worker`: takes checks off the queue and runs each as one machine does.

The supervisor is trusted (it holds the database's credentials); each check still runs Keras
in today's single-use sandboxed process (app.check.keras), so isolation is unchanged. For the
same reason it refuses to start where that process cannot get a network namespace of its own:
the model's code would otherwise reach the database with the supervisor's network.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

from procrastinate import App

from app.check.keras import WorkerPool
from app.check.keras.sandbox import network_isolation
from app.check.runner import CheckRunner
from app.config import Settings
from app.queue.fence import FencedStore
from app.queue.tasks import QUEUE, SUPERVISOR, queue_app
from app.queue.ticket import KEPT_ON_RETRY, read_ticket
from app.schemas import CheckReport
from app.store.postgres import PostgresReportStore

logger = logging.getLogger(__name__)
# How long a job waits for its check beyond the check's own limit (loading, comparing).
MARGIN_S = 120.0
STALLED_HEARTBEATS = 3  # a worker silent for this many heartbeats is taken for dead


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
        """One attempt at the check of `report_id`, whose ticket is in `folder_name`. What
        the check finds (passed, failed, a timeout or a crash of its sandboxed process) is
        final; only this process's own death makes the queue try again elsewhere."""
        folder = self.shared_dir / "checks" / Path(folder_name).name
        if _ended(self.store.get_check(report_id)):
            # A worker killed after its check ended, before the queue heard of it: the job
            # comes back, but the check is done (its folder already removed).
            shutil.rmtree(folder, ignore_errors=True)
            return
        attempt = self.store.begin(report_id)
        if attempt is None:  # the report was deleted meanwhile
            shutil.rmtree(folder, ignore_errors=True)
            return
        try:
            if attempt > 1:
                clear_earlier_attempt(folder)
            check = read_ticket(folder)
            check.mark_stored()
            self.runner.start(check)
            self.runner.wait(report_id, check.timeout_s + MARGIN_S)
        except Exception:  # a bug of ours, or a folder gone: the check ends, and says so
            logger.exception("queued check of report %s failed", report_id)
            self.store.set_check(report_id, _failed())
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            self.store.end(report_id)


def _ended(check: CheckReport | None) -> bool:
    return check is not None and check.status not in ("queued", "running")


def clear_earlier_attempt(folder: Path) -> None:
    """What a dead attempt left in the folder, but for what the replica put there."""
    for path in folder.iterdir():
        if path.name not in KEPT_ON_RETRY:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _failed() -> CheckReport:
    return CheckReport(
        status="error",
        code="check-failed",
        message="The check failed on our side; the error was logged.",
    )


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
        app = queue_app(settings.store_url or "")
        asyncio.run(_work(app, supervisor, settings.workers, settings.queue_heartbeat_s))
    finally:
        supervisor.stop()


async def _work(app: App, supervisor: Supervisor, concurrency: int, heartbeat_s: float) -> None:
    """procrastinate's worker, beside a loop that hands the jobs of dead workers back."""
    stalled_s = STALLED_HEARTBEATS * heartbeat_s
    async with app.open_async():
        rescuer = asyncio.create_task(_retry_stalled(app, stalled_s))
        try:
            await app.run_worker_async(
                queues=[QUEUE],
                concurrency=concurrency,
                additional_context={SUPERVISOR: supervisor},
                name="keras-explainer",
                update_heartbeat_interval=heartbeat_s,
                stalled_worker_timeout=stalled_s,
            )
        finally:
            rescuer.cancel()


async def _retry_stalled(app: App, stalled_s: float) -> None:
    """Every worker looks for jobs whose worker's heartbeat stopped (killed, host gone) and
    puts them back in the queue; a live long check keeps its heartbeat and is never taken
    twice. Whichever worker sees a stalled job first retries it; the attempt fence drops
    the dead attempt's late writes, if it was only cut off."""
    while True:
        for job in await app.job_manager.get_stalled_jobs(
            queue=QUEUE, seconds_since_heartbeat=stalled_s
        ):
            logger.warning("job %s of a stalled worker goes back in the queue", job.id)
            await app.job_manager.retry_job(job)
        await asyncio.sleep(stalled_s / STALLED_HEARTBEATS)
