"""Checks run on threads of the serving process, each driving two processes (our reference
side and a Keras worker); their progress and results go to the report store.

Admission: at most `max_active` checks are queued, running or being set up; one more is
refused at once with 503 `busy` and a Retry-After, before anything is stored. A check starts
as soon as its model is read, while the report is still being made: it writes to the store
only once the report is there (`Check.stored`), and never for a report that was not
stored (`Check.abandon`). A check's final report is never overwritten by a late progress
event; progress is written at most every PROGRESS_EVERY_S seconds, stage changes always. The
check's folder is removed when the check ends, whatever happened; the standalone program the
check wrote (app.export) is kept first, under `exports_dir`.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures import wait as wait_for_all
from pathlib import Path
from typing import Protocol

from app import timeline
from app.check.check import Check
from app.check.folder import CheckFolder
from app.check.keras import PoolBusy, WorkerPool
from app.check.pipeline import run_check
from app.check.warm_reference import WarmReference
from app.export.bundle import export_folder
from app.schemas import CheckReport
from app.store import ReportStore
from app.store.contract import Job

logger = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.5
STORED_WAIT_S = 600.0  # a finished check waits this long at most for its report to be stored
RETRY_AFTER_S = 15
STOP_WAIT_S = 30.0  # how long a stopping server waits for its checks' processes to be killed


class Checks(Protocol):
    """Where admitted checks go: this machine's threads (`CheckRunner`), or the queue that
    workers on any host take them from (app.queue.submit.QueuedChecks)."""

    def start_warm_reference(self) -> None: ...

    def admit(self) -> CheckFolder: ...

    def release(self, folder: CheckFolder | None) -> None: ...

    def start(self, check: Check) -> Job | None:
        """Run `check`, or give back the job that runs it once stored with its report."""
        ...

    def wait(self, report_id: str, timeout_s: float) -> CheckReport | None:
        """Block until the check of `report_id` ends, or `timeout_s` passes; its final
        report as stored when it ended within that time, else None (read the store)."""
        ...

    def cancel(self, report_id: str) -> bool:
        """End the check of `report_id` as cancelled; False when none is queued or running."""
        ...

    def active(self) -> int: ...

    def stop(self) -> None: ...


class CheckRunner:
    """Starts checks, keeps at most `max_active` of them, and publishes what they find."""

    def __init__(
        self,
        pool: WorkerPool,
        store: ReportStore,
        work_dir: Path,
        max_active: int,
        exports_dir: Path | None = None,
    ) -> None:
        self.pool, self.store = pool, store
        self.work_dir = Path(work_dir)
        self.exports_dir = exports_dir  # where each check's exported program is kept
        self.max_active = max_active
        self._threads = ThreadPoolExecutor(max(1, max_active), thread_name_prefix="check")
        self._lock = threading.Lock()
        self._active: dict[str, Future] = {}
        self._checks: dict[str, Check] = {}
        self._reserved = 0  # admitted, not started yet (its folder and inputs are being made)
        self.references = WarmReference()

    def start_warm_reference(self) -> None:
        """Start a reference process for the first check (the server's startup calls this)."""
        self.references.refill()

    def admit(self) -> CheckFolder:
        """Reserve a place for a new check and make its folder, or refuse it when
        `max_active` checks are already queued, running or reserved. `start` takes the
        place; `release` gives it back."""
        with self._lock:
            taken = len(self._active) + self._reserved
            if taken >= self.max_active:
                raise busy(taken)
            self._reserved += 1
        try:
            return self._new_folder()
        except BaseException:
            self.release(None)
            raise

    def release(self, folder: CheckFolder | None) -> None:
        """Give back a place `admit` reserved for a check that will not start, and remove
        its folder."""
        with self._lock:
            self._reserved = max(0, self._reserved - 1)
        if folder is not None:
            shutil.rmtree(folder.path, ignore_errors=True)

    def _new_folder(self) -> CheckFolder:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        return CheckFolder(Path(tempfile.mkdtemp(prefix="check-", dir=self.work_dir)))

    def start(self, check: Check) -> None:
        """Run it now, on a thread of this process: no job to store with the report."""
        with self._lock:
            self._reserved = max(0, self._reserved - 1)
            future = self._threads.submit(self._run, check)
            self._active[check.report_id] = future
            self._checks[check.report_id] = check
        future.add_done_callback(lambda _: self._forget(check.report_id))

    def wait(self, report_id: str, timeout_s: float) -> CheckReport | None:
        """Block until the check of `report_id` ends, or `timeout_s` passes. The final
        report it published, when it ran on this process and was neither cancelled nor
        stopped: the waiting request answers from it without reading the store again."""
        with self._lock:
            future = self._active.get(report_id)
        if future is None:
            return None
        try:
            return future.result(timeout=timeout_s)  # `_run`: None unless it published
        except FutureTimeout:
            return None

    def cancel(self, report_id: str) -> bool:
        """The check stops publishing (its Keras run ends on its own, within its timeout,
        and is dropped) and its report says cancelled."""
        with self._lock:
            check = self._checks.get(report_id)
        if check is None or not check.abandon_unless_ended():
            return False  # none, or it has ended: its final report stays
        self.store.set_check(report_id, cancelled())
        return True

    def active(self) -> int:
        with self._lock:
            return len(self._active)

    def stop(self) -> None:
        """End every check still queued or running: its report says the service stopped
        (`pool-stopped`), its processes are killed, and its thread is waited for (at most
        STOP_WAIT_S), so nothing writes under `work_dir` once the server has stopped."""
        with self._lock:
            running = [(self._checks[id_], future) for id_, future in self._active.items()]
        self._threads.shutdown(wait=False, cancel_futures=True)
        for check, future in running:
            if check.abandon_unless_ended():  # one that has ended keeps its final report
                self.store.set_check(check.report_id, stopped())
            if future.cancelled():  # it never ran, so nothing else removes its folder
                shutil.rmtree(check.folder.path, ignore_errors=True)
        wait_for_all([future for _, future in running], timeout=STOP_WAIT_S)
        self.references.stop()

    def _keep_export(self, check: Check) -> None:
        """Move the program the check wrote (app.export) to `exports_dir/<report id>`,
        what `GET /api/v1/reports/{id}/forward` zips; an abandoned check's is dropped."""
        if self.exports_dir is None or check.abandoned or not check.folder.export.is_dir():
            return
        try:
            self.exports_dir.mkdir(parents=True, exist_ok=True)
            target = export_folder(self.exports_dir, check.report_id)
            shutil.rmtree(target, ignore_errors=True)  # a recomputed report's
            shutil.move(check.folder.export, target)
        except OSError:  # a full disk costs the export, never the check
            logger.exception("keeping the export of report %s failed", check.report_id)

    def _forget(self, report_id: str) -> None:
        with self._lock:
            self._active.pop(report_id, None)
            self._checks.pop(report_id, None)

    def _run(self, check: Check) -> CheckReport | None:
        """Run the check and publish its end; what it published (None: nothing, the check
        was abandoned or its report never stored)."""
        publisher = _Publisher(self.store, check)
        try:
            report = run_check(check, self.pool, publisher.progress, self.references)
        except Exception:  # a bug of ours must still end the check, and say so
            logger.exception("check of report %s failed", check.report_id)
            report = CheckReport(
                status="error",
                code="check-failed",
                message="The check failed on our side; the error was logged.",
                mode=check.mode,
            )
        finally:
            self._keep_export(check)
            shutil.rmtree(check.folder.path, ignore_errors=True)
        published = publisher.final(report)
        timeline.mark("check published")
        # The next check's reference process; not on this thread, whose end is what a
        # caller waiting for this check waits for.
        threading.Thread(target=self.references.refill, daemon=True).start()
        return report if published else None


def cancelled() -> CheckReport:
    return CheckReport(
        status="not_run",
        code="cancelled",
        message="The check was cancelled on request; send the model again to run it.",
    )


def stopped() -> CheckReport:
    return CheckReport(
        status="error",
        code="pool-stopped",
        message="The service stopped before the check finished; send the model again to run it.",
    )


def busy(active: int) -> PoolBusy:
    error = PoolBusy(
        "Every Keras worker is busy and the queue of checks is full; try again shortly, or "
        "send check=false for the breakdown alone.",
        {"active_checks": active},
    )
    error.headers = {"Retry-After": str(RETRY_AFTER_S)}
    return error


class _Publisher:
    """Writes a check's progress (throttled) and its final report (once, last), once the
    report is stored; nothing for an abandoned one."""

    def __init__(self, store: ReportStore, check: Check) -> None:
        self.store, self.check, self.report_id = store, check, check.report_id
        self._lock = threading.Lock()
        self._done = False
        self._last = 0.0
        self._stage: str | None = None

    def progress(self, report: CheckReport) -> None:
        if not self.check.stored.is_set() or self.check.abandoned:
            return  # the stored report says "queued" until then
        stage = report.progress.stage if report.progress else None
        with self._lock:
            now = time.monotonic()
            if self._done or (stage == self._stage and now - self._last < PROGRESS_EVERY_S):
                return
            self._last, self._stage = now, stage
            self.store.set_check(self.report_id, report)

    def final(self, report: CheckReport) -> bool:
        """Write the final report; True when written (the report stored, the check not
        abandoned)."""
        stored = self.check.stored.wait(STORED_WAIT_S)
        with self._lock:
            self._done = True
            if not stored:
                return False
            return self.check.end(lambda: self.store.set_check(self.report_id, report))
