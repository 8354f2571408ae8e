"""The reference side's process as a check drives it (app.check.pipeline): taken from the
warm ones (app.check.warm_reference) under the check's limits, asked for a forward or for
layers to judge again, waited for event by event, and its answer read. What runs inside it
is app.check.reference_side."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from app import timeline
from app.check.check import Check
from app.check.keras.pool import job_limits
from app.check.keras.process import EOF, WorkerProcess
from app.check.keras.sandbox import apply_limits
from app.check.reference_side import ReferenceRequest, ReferenceResult
from app.check.rejudge import RejudgedCall
from app.check.warm_reference import WarmReference

logger = logging.getLogger(__name__)

# One file our side writes: a spec's weights or a Keras 2 file's Keras 3 copy, or one layer
# output (at most the check's cap for one output, when that is larger).
MAX_FILE_BYTES = 1 << 30
POLL_S = 0.1


def keras_waits_for_it(check: Check) -> bool:
    """Keras waits for what the reference side writes first: a spec's weights, or a file's
    Keras 3 copy."""
    return check.kind == "spec" or needs_keras3_copy(check)


def needs_keras3_copy(check: Check) -> bool:
    plan = check.plan
    blocked = plan.keras3_blockers or plan.op_layers
    return bool(plan.keras3_removals) and not blocked


def start(check: Check, references: WarmReference, window_bytes: int | None) -> WorkerProcess:
    """A warm process under the check's limits, asked for the check's forward; with
    `window_bytes`, it waits for the comparison to take its files (app.check.streaming)."""
    process = references.take()
    caps = check.caps
    max_file = max(MAX_FILE_BYTES, caps.max_file_size if caps else 0)
    apply_limits(process.pid, job_limits(check.timeout_s, max_file))
    asked = request(
        check,
        keras3_copy=needs_keras3_copy(check),
        tolerance=check.tolerance,
        window_bytes=window_bytes,
    )
    process.send((asked.model_dump_json() + "\n").encode())
    timeline.mark("reference started", process.pid)
    return process


def rejudged(
    check: Check, references: WarmReference, calls: list[RejudgedCall], deadline: float
) -> ReferenceResult:
    """Our forward of each of `calls`' layers on Keras' inputs, by a reference process, in
    the check's time left."""
    if not calls:
        return ReferenceResult(status="ok")
    if deadline <= time.monotonic():
        return timed_out(check)
    check.folder.reference_result.unlink(missing_ok=True)  # the first run's answer: read
    process = references.take()
    try:
        apply_limits(process.pid, job_limits(deadline - time.monotonic(), MAX_FILE_BYTES))
        asked = request(check, rejudge=calls)
        process.send((asked.model_dump_json() + "\n").encode())
        wait_for(process, "done", deadline)
        return answer(check, process)
    finally:
        process.reap()


def request(check: Check, **run: Any) -> ReferenceRequest:
    """What a reference process is asked: this check's model and inputs, and `run` (the
    forward of a check, or layers to judge again on Keras' inputs)."""
    return ReferenceRequest(
        folder=str(check.folder.path),
        model_path=str(check.model_path),
        kind=check.kind,
        format=check.format,
        mode=check.mode,
        seed=check.seed,
        **run,
    )


def wait_for(
    process: WorkerProcess,
    event: str,
    deadline: float,
    abandon_if: Callable[[], bool] = lambda: False,
    on_poll: Callable[[], None] = lambda: None,
) -> bool:
    """True once the process says `event`; False when it ends first, or when the deadline
    passes or `abandon_if()` turns true (the process is then killed). `on_poll` runs
    between polls."""
    while time.monotonic() < deadline and not abandon_if():
        on_poll()
        try:
            got = process.events.get(timeout=POLL_S)
        except queue.Empty:
            continue
        if got is EOF:
            return False
        if isinstance(got, dict):
            timeline.mark(f"reference {got.get('event')}", process.pid)
        if isinstance(got, dict) and got.get("event") == event:
            return True
    process.kill("abandoned" if abandon_if() else "timeout")
    return False


def answer(check: Check, process: WorkerProcess) -> ReferenceResult:
    """What the process wrote as its result, or why there is none."""
    path = check.folder.reference_result
    if process.proc.poll() is None and not path.is_file():  # after "done" it judges on
        process.proc.wait(timeout=10)
    if process.kill_reason == "timeout":
        return timed_out(check)
    if process.kill_reason == "abandoned":
        return error("abandoned", "Keras failed, so our forward was stopped.")
    try:
        answered = ReferenceResult.model_validate_json(path.read_bytes())
    except (OSError, ValueError):
        logger.warning("the reference side failed: %s", process.stderr_tail())
        return error("reference-failed", "Our reference forward failed on this model.")
    if answered.code == "reference-failed":  # a bug of ours: its traceback is on stderr
        logger.warning("the reference side failed: %s", process.stderr_tail())
    return answered


def error(code: str, message: str) -> ReferenceResult:
    return ReferenceResult(status="error", code=code, message=message)


def timed_out(check: Check) -> ReferenceResult:
    return error("timeout", f"The check took longer than {check.timeout_s:g} s.")


def reap_later(process: WorkerProcess) -> None:
    """End our side's process on a thread of its own: it has answered, and a process that
    held a model's outputs takes milliseconds to exit (MobileNetV2: 8 ms), which the
    comparison need not wait for."""
    threading.Thread(target=process.reap, daemon=True).start()
