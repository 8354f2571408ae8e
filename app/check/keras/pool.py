"""A pool of warm Keras worker processes, one job per process. Never imports Keras.

Each worker (``process.WorkerProcess``) imports Keras, prints a ``ready`` line and waits
for one job. The pool keeps ``size + spares`` workers alive; at most ``size`` run
jobs at once, and the spares are warm so that when a job ends (its worker exits) the next
one starts at once while a replacement imports Keras.

Per job the parent enforces a wall-clock timeout and an RSS ceiling (``VmRSS`` in
``/proc/<pid>/status``, read every ``POLL_S``) with SIGKILL, then reads and checks
``result.json``. Futures always resolve to a ``JobResult``: ``ok``, ``error`` (with a code:
``worker-crashed``, ``memory-exceeded``, ``invalid-result``, ``pool-stopped``, or the
worker's own) or ``timeout``. Progress callbacks run on a pool thread.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app import timeline
from app.check.keras.jobs import (
    RESULT_NAME,
    InvalidResult,
    JobRequest,
    JobResult,
    OutputCaps,
    Progress,
    failure,
    read_result,
)
from app.check.keras.process import EOF, WorkerProcess
from app.check.keras.sandbox import JobLimits, apply_limits
from app.errors import Busy as PoolBusy

logger = logging.getLogger(__name__)

POLL_S = 0.2
MAX_SPAWN_FAILURES = 3

ProgressCallback = Callable[[Progress], None]


@dataclass
class _Job:
    request: JobRequest
    future: Future
    on_progress: ProgressCallback | None
    timeout_s: float
    max_rss_bytes: int | None
    caps: OutputCaps
    cancelled: Callable[[], bool] | None = None  # true once nobody wants the answer


class WorkerPool:
    """Warm Keras worker processes; ``submit`` returns a Future of a ``JobResult``."""

    def __init__(
        self,
        size: int = 1,
        spares: int = 1,
        timeout_s: float = 120.0,
        max_rss_bytes: int | None = None,
        max_queued: int = 8,
        startup_timeout_s: float = 120.0,
        max_output_bytes: int = 256 * 1024 * 1024,
        defer_initializers: bool = True,
    ) -> None:
        self.size, self.spares = size, spares
        self.timeout_s, self.max_rss_bytes = timeout_s, max_rss_bytes
        self.max_queued, self.startup_timeout_s = max_queued, startup_timeout_s
        self.max_output_bytes = max_output_bytes
        self.defer_initializers = defer_initializers  # JobRequest.defer_initializers
        self._lock = threading.Lock()
        self._idle: list[WorkerProcess] = []
        self._starting: list[WorkerProcess] = []
        self._busy: dict[int, WorkerProcess] = {}
        self._pending: deque[_Job] = deque()
        self._threads: list[threading.Thread] = []
        self._spawn_failures = 0
        self._versions: tuple[str | None, str | None] = (None, None)
        self._stopped = False
        self._stop_event = threading.Event()

    # -- public ------------------------------------------------------------------------------

    def start(self) -> None:
        """Spawn ``size + spares`` workers in the background; returns at once."""
        with self._lock:
            for _ in range(self.size + self.spares):
                self._spawn_locked()

    def wait_ready(self, timeout_s: float) -> bool:
        """Block until at least one worker is warm (for the CLI and tests, not the loop)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if self._idle or self._busy:
                    return True
            time.sleep(0.05)
        return False

    def submit(
        self,
        request: JobRequest,
        on_progress: ProgressCallback | None = None,
        *,
        timeout_s: float | None = None,
        max_rss_bytes: int | None = None,
        caps: OutputCaps | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Future:
        """Queue a job; raise PoolBusy when the queue is full. Limits default to the pool's
        (`max_output_bytes` for one output and for all of them). Once `cancelled()` is true,
        the job's worker is killed (its answer is `abandoned`)."""
        if not self.defer_initializers:
            request = request.model_copy(update={"defer_initializers": False})
        job = _Job(
            request,
            Future(),
            on_progress,
            timeout_s or self.timeout_s,
            max_rss_bytes or self.max_rss_bytes,
            caps or OutputCaps(self.max_output_bytes, self.max_output_bytes),
            cancelled,
        )
        with self._lock:
            refusal = self._refusal_locked()
            if refusal is None and len(self._pending) >= self.max_queued + self._free_locked():
                raise PoolBusy(
                    "Every Keras worker is busy and the queue is full; try again shortly.",
                    {"queued": len(self._pending)},
                )
            if refusal is None:
                self._pending.append(job)
                self._dispatch_locked()
        if refusal is not None:
            _resolve([job], refusal)
        return job.future

    def _free_locked(self) -> int:
        """Jobs that would start at once: warm workers, up to `size` running."""
        return max(0, min(len(self._idle), self.size - len(self._busy)))

    def _refusal_locked(self) -> JobResult | None:
        if self._stopped:
            return _stopped_result()
        if self._spawn_failures >= MAX_SPAWN_FAILURES:
            return _unavailable_result()
        return None

    def state(self) -> dict[str, Any]:
        """Counts for /api/v1/health, and the Keras version the workers reported."""
        with self._lock:
            return {
                "workers": len(self._idle) + len(self._busy) + len(self._starting),
                "warm": len(self._idle),
                "starting": len(self._starting),
                "busy": len(self._busy),
                "queued": len(self._pending),
                "keras_version": self._versions[0],
                "tf_version": self._versions[1],
                "spawn_failures": self._spawn_failures,
            }

    def busy_pids(self) -> list[int]:
        """Process ids of the workers running a job."""
        with self._lock:
            return list(self._busy)

    def stop(self, join_timeout_s: float = 10.0) -> None:
        """Kill every worker; waiting jobs resolve with ``pool-stopped``."""
        self._stop_event.set()
        with self._lock:
            self._stopped = True
            pending, self._pending = list(self._pending), deque()
            workers = self._idle + self._starting + list(self._busy.values())
            self._idle = []
            threads = list(self._threads)
        for worker in workers:
            worker.kill("stopped")
        _resolve(pending, _stopped_result())
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(join_timeout_s)
        for worker in workers:
            worker.reap()

    # -- spawning ----------------------------------------------------------------------------

    def _spawn_locked(self) -> None:
        self._thread(self._spawn_one)

    def _thread(self, target: Callable, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _spawn_one(self) -> None:
        """Start one worker and wait (on this thread) for its ready line."""
        if self._stop_event.wait(_backoff_s(self._spawn_failures)):
            return
        worker = self._start_worker()
        if worker is None:
            return
        ready = worker.await_ready(self.startup_timeout_s)
        abandoned: list[_Job] = []
        with self._lock:
            self._starting.remove(worker)
            if ready and not self._stopped:
                self._spawn_failures = 0
                self._versions = (worker.keras_version, worker.tf_version)
                self._idle.append(worker)
                self._dispatch_locked()
                return
            if not self._stopped:
                logger.warning("a Keras worker failed to start: %s", worker.stderr_tail())
                abandoned = self._spawn_failed_locked()
        worker.reap()
        _resolve(abandoned, _unavailable_result())

    def _start_worker(self) -> WorkerProcess | None:
        abandoned: list[_Job] = []
        with self._lock:
            if self._stopped:
                return None
            try:
                worker = WorkerProcess.spawn()
            except OSError:
                logger.exception("could not start a Keras worker")
                abandoned = self._spawn_failed_locked()
            else:
                self._starting.append(worker)
                return worker
        _resolve(abandoned, _unavailable_result())
        return None

    def _spawn_failed_locked(self) -> list[_Job]:
        """Count the failure and try again (with back-off); give up waiting jobs after a few."""
        self._spawn_failures += 1
        self._spawn_locked()
        if self._spawn_failures < MAX_SPAWN_FAILURES:
            return []
        abandoned, self._pending = list(self._pending), deque()
        return abandoned

    # -- running jobs ------------------------------------------------------------------------

    def _dispatch_locked(self) -> None:
        """Pair waiting jobs with warm workers, up to ``size`` running at once."""
        self._drop_dead_idle_locked()
        while self._idle and self._pending and len(self._busy) < self.size:
            job = self._pending.popleft()
            if not job.future.set_running_or_notify_cancel():
                continue  # the caller cancelled it while it waited
            worker = self._idle.pop(0)
            self._busy[worker.pid] = worker
            self._thread(self._run_job, worker, job)

    def _drop_dead_idle_locked(self) -> None:
        """A warm worker that died while waiting (OOM killer, a stray signal) is replaced."""
        for worker in [w for w in self._idle if w.proc.poll() is not None]:
            logger.warning("an idle Keras worker died: %s", worker.stderr_tail())
            self._idle.remove(worker)
            self._thread(worker.reap)
            self._spawn_locked()

    def _run_job(self, worker: WorkerProcess, job: _Job) -> None:
        try:
            result = run_on_worker(worker, job)
        except Exception:  # a bug of ours must not leave the future pending forever
            logger.exception("the pool failed while running a job")
            worker.kill("pool-error")
            result = failure("error", "pool-error", "The worker pool failed running this job.")
        with self._lock:
            self._thread(worker.reap)  # a big process takes tens of ms to exit: not waited for
            self._busy.pop(worker.pid, None)
        # The answer first: the next worker's start (a process forked, then TensorFlow
        # imported) is not what the check that waits for this answer should wait behind.
        job.future.set_result(result)
        with self._lock:
            if not self._stopped:
                self._spawn_locked()
                self._dispatch_locked()


def run_on_worker(worker: WorkerProcess, job: _Job) -> JobResult:
    """Send the request, watch the process until it exits, and read its answer."""
    job_dir = Path(job.request.job_dir)
    (job_dir / RESULT_NAME).unlink(missing_ok=True)
    apply_limits(worker.pid, job_limits(job.timeout_s, job.caps.max_file_size))
    timeline.mark("keras job handed to a worker", worker.pid)
    worker.send(job.request.to_line())
    if not _watch(worker, job):
        worker.proc.wait()
    return _outcome(worker, job)


def job_limits(timeout_s: float, max_file_bytes: int) -> JobLimits:
    """CPU seconds for a job: its wall-clock timeout on every core, so that the wall clock
    (which says `timeout`) is what normally stops it."""
    cores = os.cpu_count() or 1
    return JobLimits(cpu_s=math.ceil(timeout_s * cores) + 1, max_file_bytes=max_file_bytes)


def _watch(worker: WorkerProcess, job: _Job) -> bool:
    """Relay progress; SIGKILL on timeout or RSS over the ceiling. True once the worker says
    its result is written ("done"; it is then exiting); False once it exits without that."""
    deadline = time.monotonic() + job.timeout_s
    while worker.proc.poll() is None:
        try:
            event = worker.events.get(timeout=POLL_S)
        except queue.Empty:
            event = None
        if isinstance(event, dict) and event.get("event") == "progress":
            _mark_progress(worker, event)
            _relay(job.on_progress, event)
        if isinstance(event, dict) and event.get("event") == "done":
            timeline.mark("keras result written", worker.pid)
            return True
        if time.monotonic() > deadline:
            worker.kill("timeout")
        elif job.cancelled is not None and job.cancelled():
            worker.kill("abandoned")
        elif job.max_rss_bytes and (worker.rss_bytes() or 0) > job.max_rss_bytes:
            worker.kill("memory-exceeded")
        elif event is EOF:
            _wait_exit(worker, deadline)
    return False


def _wait_exit(worker: WorkerProcess, deadline: float) -> None:
    """stdout closed: the process is exiting; give it until the deadline."""
    try:
        worker.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        worker.kill("timeout")


def _outcome(worker: WorkerProcess, job: _Job) -> JobResult:
    reason = worker.kill_reason
    if reason == "timeout":
        return failure(
            "timeout",
            "timeout",
            f"Keras took longer than {job.timeout_s:g} s; the run was stopped.",
        )
    if reason == "memory-exceeded":
        return failure(
            "error",
            "memory-exceeded",
            "Keras needed more memory than allowed; the run was stopped.",
        )
    if reason == "stopped":
        return _stopped_result()
    if reason == "abandoned":
        return failure("error", "abandoned", "Nobody waits for this check any more; stopped.")
    try:
        caps = job.caps
        return read_result(job.request.job_dir, caps.max_file_bytes, caps.max_total_bytes)
    except InvalidResult as exc:
        if not (Path(job.request.job_dir) / RESULT_NAME).is_file():
            logger.warning("a Keras worker died mid-job: %s", worker.stderr_tail())
            return failure(
                "error", "worker-crashed", "The Keras worker stopped before finishing the job."
            )
        logger.warning("a Keras worker wrote an invalid result: %s", exc)
        return failure("error", "invalid-result", "The Keras worker's answer was not valid.")


def _mark_progress(worker: WorkerProcess, event: dict) -> None:
    """A stage's end on the timeline (app.timeline): `keras loading done`, ..."""
    if event.get("done") == event.get("total"):
        timeline.mark(f"keras {event.get('stage')} done", worker.pid)


def _relay(callback: ProgressCallback | None, event: dict) -> None:
    if callback is None:
        return
    try:
        callback(Progress.model_validate(event))
    except Exception:  # a caller's callback must not kill the watch loop
        logger.exception("a progress callback failed")


def _resolve(jobs: list[_Job], result: JobResult) -> None:
    """Resolve waiting jobs (outside the lock: future callbacks may call the pool)."""
    for job in jobs:
        if job.future.set_running_or_notify_cancel():
            job.future.set_result(result.model_copy(deep=True))


def _backoff_s(failures: int) -> float:
    """0 s, then 1, 3, 7, 15, 30 s between attempts when workers keep failing to start."""
    return min(30.0, 2.0**failures - 1)


def _unavailable_result() -> JobResult:
    return failure(
        "error", "workers-unavailable", "The Keras workers cannot start; the check cannot run."
    )


def _stopped_result() -> JobResult:
    return failure("error", "pool-stopped", "The worker pool stopped before the job finished.")
