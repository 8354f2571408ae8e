"""One check, from its job folder to a `CheckReport`.

    inputs.npz: the caller's, or seeded here from the plan (app.analysis.check_plan)
    the Keras job (a worker of the pool) loads and predicts; for a spec it starts once the
        reference job has written the weights ("prepared")
    the reference job (a process of ours) reads the model and runs our NumPy forward
    both done ─► the comparison, layer by layer, one layer in memory at a time

Keras 2 files whose only obstacle in Keras 3 is a refused key at its default value are given
to Keras as a copy without that key (app.checks.compat), and the report says so.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.analysis.batchnorm_modes import sample
from app.analysis.check_plan import CheckPlan
from app.analysis.compare import Side, compare
from app.analysis.inputs import make_inputs
from app.checks import compat, keras_job
from app.checks.reference_job import RESULT_FILE, ReferenceRequest, ReferenceResult
from app.checks.spares import ReferenceSpares
from app.errors import Busy
from app.runtime import JobResult, Progress, WorkerPool, write_arrays
from app.runtime.jobs import failure
from app.runtime.pool import job_limits
from app.runtime.process import EOF, WorkerProcess
from app.runtime.sandbox import apply_limits
from app.schemas import BatchNormModes, CheckInputs, CheckProgress, CheckReport, CheckTiming

logger = logging.getLogger(__name__)

REFERENCE_MAX_FILE_BYTES = 1 << 30  # one .npy of layer outputs (or a spec's weights)
KERAS3_COPY = "model-keras3"
# Our reference has no forward for a class, or cannot take how it is called.
REFERENCE_UNSUPPORTED = frozenset({"unsupported-model"})

POLL_S = 0.1

Publish = Callable[[CheckReport], None]


@dataclass
class CheckJob:
    """Everything one check needs; `job_dir` belongs to it and holds the model."""

    report_id: str
    job_dir: Path
    kind: str  # "file" or "spec"
    model_path: Path
    format: str
    plan: CheckPlan
    mode: str
    seed: int
    tolerance: float
    timeout_s: float
    inputs: CheckInputs | None = None  # set once inputs.npz is written: how they were made
    created: float = field(default_factory=time.monotonic)
    # A check starts once the model is read, before its report is stored: it publishes
    # nothing until `stored` is set, and nothing at all once `abandoned` (no report came).
    stored: threading.Event = field(default_factory=threading.Event)
    abandoned: bool = False

    def mark_stored(self) -> None:
        self.stored.set()

    def abandon(self) -> None:
        self.abandoned = True
        self.stored.set()


@dataclass
class _Sides:
    reference: ReferenceResult
    keras: JobResult | None
    notes: list[str]
    blocked: str | None = None


def run_check(
    job: CheckJob, pool: WorkerPool, publish: Publish, references: ReferenceSpares
) -> CheckReport:
    """Run both sides and compare them; never raises for a model's fault."""
    if job.inputs is None:  # seeded: made here, so that a file's Keras job starts at once
        arrays, job.inputs = make_inputs(job.plan.inputs, job.seed)
        write_arrays(job.job_dir / keras_job.INPUTS_FILE, "x", arrays)
    sides = _run_sides(job, pool, publish, references)
    reference, keras = sides.reference, sides.keras
    if sides.blocked is not None:
        return _ended(job, "unsupported", "keras3-refuses-config", sides.blocked, notes=sides.notes)
    if keras is not None and keras.status != "ok":
        return _keras_failed(job, keras, reference, sides.notes)
    if reference.status != "ok" or keras is None:
        status = "unsupported" if reference.code in REFERENCE_UNSUPPORTED else "error"
        return _ended(job, status, reference.code, reference.message, notes=sides.notes)
    publish(_running(job, "comparing", 0, 1))
    ours = _reference_side(job.job_dir, reference)
    theirs = keras_job.keras_side(job.job_dir, keras)
    comparison = compare(job.plan.compared, ours, theirs, job.tolerance)
    status = "passed" if comparison.passed else "failed"
    return CheckReport(
        status=status,
        message=_verdict(status, comparison.first_divergence, job.tolerance),
        mode=job.mode,
        inputs=job.inputs,
        tolerance=job.tolerance,
        layers=comparison.layers,
        first_divergence=comparison.first_divergence,
        outputs=comparison.outputs,
        keras_version=keras.keras_version,
        timing=_timing(job, reference, keras),
        batchnorm=_with_keras(reference.batchnorm, theirs, job.mode),
        notes=sides.notes + keras.notes,
    )


def _run_sides(
    job: CheckJob, pool: WorkerPool, publish: Publish, references: ReferenceSpares
) -> _Sides:
    deadline = time.monotonic() + job.timeout_s
    process = _start_reference(job, references)
    try:
        notes: list[str] = []
        request, blocked = _keras_request(job, notes)
        needs_weights = job.kind == "spec"  # Keras waits for the weights the reference writes
        if needs_weights and not _wait_for(process, "prepared", deadline):
            return _Sides(_reference_result(job, process), None, notes)
        future = None if request is None else _submit(pool, request, job, publish)
        _wait_for(process, "done", deadline, abandon_if=_keras_failed_hard(future))
        reference = _reference_result(job, process)
        keras = future.result() if future is not None else None
        return _Sides(reference, keras, notes, blocked)
    finally:
        process.reap()


def _submit(pool: WorkerPool, request: Any, job: CheckJob, publish: Publish) -> Future:
    """The Keras job's future; a pool that refuses it gives a future already failed."""
    try:
        return pool.submit(request, _relay(job, publish))
    except Busy as exc:
        refused: Future = Future()
        refused.set_result(failure("error", "busy", exc.message))
        return refused


def _keras_failed_hard(future: Future | None) -> Callable[[], bool]:
    """True once Keras has failed in a way that makes our outputs moot (a crash, a timeout);
    when Keras merely cannot load the model, our outputs are still worth showing."""

    def failed() -> bool:
        if future is None or not future.done():
            return False
        result = future.result()
        return result.status != "ok" and keras_job.failure_status(result) != "unsupported"

    return failed


def _start_reference(job: CheckJob, references: ReferenceSpares) -> WorkerProcess:
    process = references.take()
    apply_limits(process.pid, job_limits(job.timeout_s, REFERENCE_MAX_FILE_BYTES))
    request = ReferenceRequest(
        job_dir=str(job.job_dir),
        model_path=str(job.model_path),
        kind=job.kind,
        mode=job.mode,
        seed=job.seed,
    )
    process.send((request.model_dump_json() + "\n").encode())
    return process


def _wait_for(
    process: WorkerProcess,
    event: str,
    deadline: float,
    abandon_if: Callable[[], bool] = lambda: False,
) -> bool:
    """True once the process says `event`; False when it ends first, or when the deadline
    passes or `abandon_if()` turns true (the process is then killed)."""
    while time.monotonic() < deadline and not abandon_if():
        try:
            got = process.events.get(timeout=POLL_S)
        except queue.Empty:
            continue
        if got is EOF:
            return False
        if isinstance(got, dict) and got.get("event") == event:
            return True
    process.kill("abandoned" if abandon_if() else "timeout")
    return False


def _reference_result(job: CheckJob, process: WorkerProcess) -> ReferenceResult:
    path = job.job_dir / RESULT_FILE
    if process.proc.poll() is None:
        process.proc.wait(timeout=10)
    if process.kill_reason == "timeout":
        return _reference_error("timeout", f"The check took longer than {job.timeout_s:g} s.")
    if process.kill_reason == "abandoned":
        return _reference_error("abandoned", "Keras failed, so our forward was stopped.")
    try:
        return ReferenceResult.model_validate_json(path.read_bytes())
    except (OSError, ValueError):
        logger.warning("the reference job failed: %s", process.stderr_tail())
        return _reference_error("reference-failed", "Our reference forward failed on this model.")


def _reference_error(code: str, message: str) -> ReferenceResult:
    return ReferenceResult(status="error", code=code, message=message)


def _keras_request(job: CheckJob, notes: list[str]) -> tuple[Any, str | None]:
    """The Keras job; (None, reason) when Keras 3 cannot take the file's config at all."""
    if job.kind == "spec":
        return keras_job.request(job.job_dir, job.model_path, "spec", job.mode), None
    if job.plan.keras3_blockers:
        keys = "; ".join(job.plan.keras3_blockers)
        return None, f"Keras 3 refuses this config and the values differ from the defaults: {keys}."
    if not job.plan.keras3_removals:  # the file as it is (nearly always)
        return keras_job.request(job.job_dir, job.model_path, "file", job.mode), None
    copy = job.job_dir / KERAS3_COPY
    compat.write_keras3_copy(job.model_path, job.format, copy)
    notes.append(
        "Keras 3 refuses keys that Keras 2 wrote with their default values; Keras ran the "
        "model without them: " + "; ".join(job.plan.keras3_removals) + "."
    )
    return keras_job.request(job.job_dir, copy, "file", job.mode), None


def _relay(job: CheckJob, publish: Publish) -> Callable[[Progress], None]:
    def on_progress(progress: Progress) -> None:
        publish(_running(job, progress.stage, progress.done, progress.total))

    return on_progress


def _running(job: CheckJob, stage: str, done: int, total: int) -> CheckReport:
    return CheckReport(
        status="running",
        mode=job.mode,
        progress=CheckProgress(stage=stage, done=done, total=total),
        tolerance=job.tolerance,
    )


def _reference_side(job_dir: Path, reference: ReferenceResult) -> Side:
    layers = {name: keras_job.mapped(job_dir, paths) for name, paths in reference.layers.items()}
    return Side(layers, keras_job.mapped(job_dir, reference.outputs))


def _with_keras(modes: list[BatchNormModes], keras: Side, mode: str) -> list[BatchNormModes]:
    """Each layer's modes, with Keras' values for the mode it ran."""
    found = []
    for entry in modes:
        outputs = keras.layers.get(entry.layer)
        if outputs:
            keras_values = sample(outputs[0], entry.axis)
            entry = entry.model_copy(update={"keras": keras_values, "keras_mode": mode})
        found.append(entry)
    return found


def _keras_failed(
    job: CheckJob, keras: JobResult, reference: ReferenceResult, notes: list
) -> CheckReport:
    report = _ended(
        job, keras_job.failure_status(keras), keras.code, keras.message, notes=notes + keras.notes
    )
    report.inputs = job.inputs
    report.details = {"reason": keras.reason} if keras.reason else None
    if reference.status == "ok":
        outputs = job.plan.compared.outputs
        report.outputs = keras_job.reference_outputs(job.job_dir, reference.outputs, outputs)
    return report


def _ended(
    job: CheckJob, status: str, code: str | None, message: str | None, notes: list[str]
) -> CheckReport:
    return CheckReport(
        status=status, code=code, message=message, mode=job.mode, notes=notes, tolerance=None
    )


def _verdict(status: str, first: str | None, tolerance: float) -> str:
    if status == "passed":
        return f"Every layer matches Keras within {tolerance:g} of its output's scale."
    if first is not None:
        return f"The outputs part from Keras at layer {first} (over {tolerance:g})."
    return f"A model output differs from Keras by more than {tolerance:g} of its scale."


def _timing(job: CheckJob, reference: ReferenceResult, keras: JobResult) -> CheckTiming:
    return CheckTiming(
        reference_s=reference.reference_s or 0.0,
        keras_load_s=keras.timing.load_s if keras.timing else 0.0,
        keras_predict_s=keras.timing.predict_s if keras.timing else 0.0,
        total_s=round(time.monotonic() - job.created, 3),
    )
