"""One check, from its folder (app.check.folder) to a `CheckReport`.

    inputs.npz: the caller's, or seeded here from the plan (app.check.plan)
    the Keras side (a job for a worker of the pool) loads and predicts; for a spec, or a
        file that needs a Keras 3 copy, it starts once the reference side says "prepared"
    the reference side (a process of ours) reads the model and runs our NumPy forward
    both sides list each layer's files as they write them; the comparison takes each layer
        as soon as both have, and deletes its files (app.check.arrivals), so the folder holds
        a window of layer outputs, not every one; what is left is compared at the end
    a layer over the tolerance end to end is judged again on Keras' own inputs, by a second
        reference process (app.check.rejudge); a check where none is never starts it

Keras 2 files whose only obstacle in Keras 3 is a refused key at its default value are given
to Keras as a copy without that key, written by the reference side (app.check.keras3_copy:
the serving process never opens the file), and the report says so.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import timeline
from app.check import keras_side
from app.check.arrivals import Arrivals
from app.check.batchnorm_modes import sample
from app.check.compare import Comparison, Side, compare, compare_layer
from app.check.folder import CheckFolder, Kind
from app.check.inputs import make_inputs
from app.check.keras import (
    InvalidResult,
    JobResult,
    OutputCaps,
    Progress,
    WorkerPool,
    write_arrays,
)
from app.check.keras.jobs import failure
from app.check.keras.pool import job_limits
from app.check.keras.process import EOF, WorkerProcess
from app.check.keras.sandbox import apply_limits
from app.check.plan import CheckPlan
from app.check.reference_side import ReferenceRequest, ReferenceResult
from app.check.rejudge import (
    RejudgedCall,
    calls_for,
    carried_only,
    judged_again,
    to_judge_again,
    with_judged_again,
    with_outputs_noted,
)
from app.check.streaming import REFERENCE_ENDED, WINDOW_BYTES
from app.check.warm_reference import WarmReference
from app.errors import Busy
from app.export.bundle import add_expected
from app.schemas import (
    BatchNormModes,
    CheckInputs,
    CheckProgress,
    CheckReport,
    CheckTiming,
    KerasCall,
)

logger = logging.getLogger(__name__)

# One file our side writes: a spec's weights or a Keras 2 file's Keras 3 copy, or one layer
# output (at most the check's cap for one output, when that is larger).
REFERENCE_MAX_FILE_BYTES = 1 << 30
# Our reference has no forward for a class, or cannot take how it is called.
REFERENCE_UNSUPPORTED = frozenset({"unsupported-model"})

POLL_S = 0.1
# How often the comparison looks for new layers once our side has ended and Keras runs on:
# what it has not taken when Keras' answer comes is compared after, when the check waits
# for nothing else (MobileNetV2, looking every POLL_S: 38 to 87 of its 155 layers left, 20
# to 60 ms of CPU). Keras' eager call keeps about one core busy; the other does these.
TAKE_EVERY_S = 0.02

Publish = Callable[[CheckReport], None]


@dataclass
class Check:
    """Everything one check needs; `folder` belongs to it and holds the model."""

    report_id: str
    folder: CheckFolder
    kind: Kind
    format: str
    plan: CheckPlan
    mode: str
    seed: int
    tolerance: float
    timeout_s: float
    keras_call: KerasCall | None = None  # how Keras runs it; None: the worker's choice
    inputs: CheckInputs | None = None  # set once inputs.npz is written: how they were made
    # What each side may write: the budgets that admitted it, at its batch (app.check.
    # admission); None: the pool's own caps.
    caps: OutputCaps | None = None
    created: float = field(default_factory=time.monotonic)
    # A check starts once the model is read, before its report is stored: it publishes
    # nothing until `stored` is set, and nothing at all once `abandoned` (no report came).
    stored: threading.Event = field(default_factory=threading.Event)
    abandoned: bool = False
    ended: bool = False  # its final report is written: nothing may take its place
    _ending: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def model_path(self) -> Path:
        return self.folder.model(self.kind)

    def mark_stored(self) -> None:
        self.stored.set()

    def abandon(self) -> None:
        self.abandoned = True
        self.stored.set()

    def end(self, write_final: Callable[[], None]) -> bool:
        """`write_final()` unless the check is abandoned; whether it was written. A cancel
        (`abandon_unless_ended`) comes wholly before or wholly after it."""
        with self._ending:
            if self.abandoned:
                return False
            write_final()
            self.ended = True
            return True

    def abandon_unless_ended(self) -> bool:
        """Abandon the check unless its final report is written or it is abandoned already;
        whether it was abandoned now."""
        with self._ending:
            if self.ended or self.abandoned:
                return False
            self.abandon()
            return True


@dataclass(frozen=True)
class _Blocked:
    """Why Keras is not asked at all: a check code and its sentence."""

    code: str
    message: str


@dataclass
class _Sides:
    reference: ReferenceResult
    keras: JobResult | None
    notes: list[str]
    blocked: _Blocked | None = None
    arrivals: Arrivals | None = None
    deadline: float = 0.0  # the check's time is up (time.monotonic())


def run_check(
    check: Check, pool: WorkerPool, publish: Publish, references: WarmReference
) -> CheckReport:
    """Run both sides and compare them; never raises for a model's fault."""
    if check.plan.unsaved_weights:  # no values to run: neither side is started
        message = unsaved_sentence(check.plan.unsaved_weights)
        return _ended(check, "unsupported", "weights-not-saved", message, notes=[])
    if check.inputs is None:  # seeded: made here, so that a file's Keras side starts at once
        arrays, check.inputs = make_inputs(check.plan.inputs, check.seed)
        write_arrays(check.folder.inputs, "x", arrays)
    sides = _run_sides(check, pool, publish, references)
    reference, keras = sides.reference, sides.keras
    if keras is not None:  # under the file's names where the Keras 3 copy renamed layers
        keras = keras_side.in_file_names(keras, check.plan.keras3_names)
    if sides.blocked is not None:
        return _blocked(check, sides.blocked, reference, sides.notes)
    if keras is not None and keras.status != "ok":
        return _keras_failed(check, keras, reference, sides.notes)
    if reference.status != "ok" or keras is None:
        status = "unsupported" if reference.code in REFERENCE_UNSUPPORTED else "error"
        return _ended(check, status, reference.code, reference.message, notes=sides.notes)
    publish(_running(check, "comparing", 0, 1))
    arrivals = sides.arrivals or _arrivals(check)
    ours = _reference_side(check.folder.path, reference)
    theirs = keras_side.side(check.folder.path, keras)
    try:
        if arrivals.invalid is not None:
            raise InvalidResult(arrivals.invalid)
        comparison = compare(check.plan.compared, ours, theirs, check.tolerance, arrivals.done)
        comparison = judge_again(check, references, comparison, arrivals, sides.deadline)
        comparison = with_outputs_noted(comparison)
        notes = [output.note for output in comparison.outputs]  # the program says them too
        add_expected(check.folder.export, theirs.outputs, notes)
        timeline.mark("compared")
        batchnorm = _with_keras(reference.batchnorm, theirs, arrivals, check.mode)
    except InvalidResult:
        logger.warning("the Keras worker's outputs broke the result contract", exc_info=True)
        message = "The Keras worker's answer broke the result contract."
        return _ended(check, "error", "invalid-result", message, notes=sides.notes)
    status = "passed" if comparison.passed else "failed"
    return CheckReport(
        status=status,
        message=_verdict(status, comparison),
        mode=check.mode,
        keras_call=keras.keras_call,
        inputs=check.inputs,
        tolerance=check.tolerance,
        layers=comparison.layers,
        first_divergence=comparison.first_divergence,
        outputs=comparison.outputs,
        keras_version=keras.keras_version,
        timing=_timing(check, reference, keras),
        batchnorm=batchnorm,
        notes=sides.notes + keras.notes,
    )


def judge_again(
    check: Check,
    references: WarmReference,
    comparison: Comparison,
    arrivals: Arrivals,
    deadline: float,
) -> Comparison:
    """The layers over the tolerance end to end, judged again on Keras' own inputs
    (app.check.rejudge); nothing is started when there are none."""
    names = to_judge_again(comparison)
    if not names:
        return comparison
    keras_files = arrivals.keras_files()
    folder = check.folder.path
    calls, unjudged = calls_for(names, check.plan.compared, keras_files, folder)
    result = _rejudged(check, references, calls, deadline)
    judged = {}
    for layer in comparison.layers:
        if layer.name not in names:
            continue
        again = None
        if layer.name in result.layers:
            mine = keras_side.mapped(folder, result.layers[layer.name])
            theirs = keras_side.mapped(folder, keras_files[layer.name])
            again = compare_layer(layer.name, layer.class_name, mine, theirs, check.tolerance)
        why_not = unjudged.get(layer.name) or result.unjudged.get(layer.name)
        if why_not is None and result.status != "ok":
            why_not = f"Not judged on Keras' own inputs: {result.message}"
        judged[layer.name] = judged_again(layer, again, why_not, check.tolerance)
    return with_judged_again(comparison, judged)


def _rejudged(
    check: Check, references: WarmReference, calls: list[RejudgedCall], deadline: float
) -> ReferenceResult:
    """Our forward of each of `calls`' layers on Keras' inputs, by a reference process, in
    the check's time left."""
    if not calls:
        return ReferenceResult(status="ok")
    if deadline <= time.monotonic():
        return _reference_error("timeout", f"The check took longer than {check.timeout_s:g} s.")
    check.folder.reference_result.unlink(missing_ok=True)  # the first run's answer: read
    process = references.take()
    try:
        apply_limits(process.pid, job_limits(deadline - time.monotonic(), REFERENCE_MAX_FILE_BYTES))
        request = _reference_request(check, rejudge=calls)
        process.send((request.model_dump_json() + "\n").encode())
        _wait_for(process, "done", deadline)
        return _reference_result(check, process)
    finally:
        process.reap()


def _run_sides(
    check: Check, pool: WorkerPool, publish: Publish, references: WarmReference
) -> _Sides:
    deadline = time.monotonic() + check.timeout_s
    notes: list[str] = []
    request, blocked = _keras_request(check, notes)
    # Our side waits for the comparison only when Keras runs beside it.
    process = _start_reference(check, references, streamed=request is not None)
    try:
        arrivals = _arrivals(check, judging=request is not None)
        abandoned = _abandoned(check)
        if _waits_for_reference(check) and not _wait_for(
            process, "prepared", deadline, abandon_if=abandoned
        ):
            return _Sides(_reference_result(check, process), None, notes)
        future = None if request is None or abandoned() else _submit(pool, request, check, publish)
        keras_failed = _keras_failed_hard(future)
        _wait_for(
            process,
            "done",
            deadline,
            abandon_if=lambda: abandoned() or keras_failed(),
            on_poll=arrivals.take,
        )
        reference = _reference_result(check, process)
        if reference.status != "ok":  # nothing will take Keras' files: it need not wait
            (check.folder.path / REFERENCE_ENDED).touch()
        if abandoned() and future is not None:
            future.cancel()  # still queued: it never runs; running: the pool kills it
            return _Sides(reference, None, notes)
        keras = _keras_result(future, arrivals)
        _settle(arrivals, process, deadline)
        return _Sides(reference, keras, notes, blocked, arrivals, deadline)
    finally:
        _reap_later(process)


def _reap_later(process: WorkerProcess) -> None:
    """End our side's process on a thread of its own: it has answered, and a process that
    held a model's outputs takes milliseconds to exit (MobileNetV2: 8 ms), which the
    comparison need not wait for."""
    threading.Thread(target=process.reap, daemon=True).start()


def _arrivals(check: Check, judging: bool = False) -> Arrivals:
    return Arrivals(
        check.folder.path,
        check.plan.compared,
        check.tolerance,
        check.plan.keras3_names,
        judging,
    )


def _settle(arrivals: Arrivals, process: WorkerProcess, deadline: float) -> None:
    """Wait for our side's answers on the layers asked about (app.check.rejudge_side),
    while it runs and the check has time."""
    while arrivals.awaiting and process.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(POLL_S)
        arrivals.take()
    if arrivals.awaiting:
        why = "our reference process ended" if process.proc.poll() is not None else "time ran out"
        arrivals.unanswered(f"Not judged on Keras' own inputs: {why} before it answered.")


def _keras_result(future: Future | None, arrivals: Arrivals) -> JobResult | None:
    """Keras' answer, its layers compared as they come meanwhile; taken once more after it
    came, so its listing (outputs/layers.json) is read even when it was written after the
    last take: the layers judged again at the end find Keras' files by it."""
    if future is None:
        return None
    while not future.done():
        arrivals.take()
        try:
            future.result(timeout=TAKE_EVERY_S)
        except FutureTimeout:
            continue
    arrivals.take()
    return future.result()


def _submit(pool: WorkerPool, request: Any, check: Check, publish: Publish) -> Future:
    """The Keras side's future; a pool that refuses it gives a future already failed."""
    try:
        return pool.submit(
            request,
            _relay(check, publish),
            caps=check.caps,
            cancelled=_abandoned(check),
            timeout_s=check.timeout_s,
        )
    except Busy as exc:
        refused: Future = Future()
        refused.set_result(failure("error", "busy", exc.message))
        return refused


def _abandoned(check: Check) -> Callable[[], bool]:
    """True once the report failed after its check started (a file refused by the full
    reading, a store error): nothing will ever show this check, so its processes stop."""
    return lambda: check.abandoned


def _keras_failed_hard(future: Future | None) -> Callable[[], bool]:
    """True once Keras has failed in a way that makes our outputs moot (a crash, a timeout);
    when Keras merely cannot load the model, our outputs are still worth showing."""

    def failed() -> bool:
        if future is None or not future.done():
            return False
        result = future.result()
        return result.status != "ok" and keras_side.failure_status(result) != "unsupported"

    return failed


def _waits_for_reference(check: Check) -> bool:
    """Keras waits for what the reference side writes first: a spec's weights, or a file's
    Keras 3 copy."""
    return check.kind == "spec" or _needs_keras3_copy(check)


def _needs_keras3_copy(check: Check) -> bool:
    plan = check.plan
    blocked = plan.keras3_blockers or plan.op_layers
    return bool(plan.keras3_removals) and not blocked


def _start_reference(
    check: Check, references: WarmReference, streamed: bool = False
) -> WorkerProcess:
    process = references.take()
    caps = check.caps
    max_file = max(REFERENCE_MAX_FILE_BYTES, caps.max_file_size if caps else 0)
    apply_limits(process.pid, job_limits(check.timeout_s, max_file))
    request = _reference_request(
        check,
        keras3_copy=_needs_keras3_copy(check),
        tolerance=check.tolerance,
        window_bytes=WINDOW_BYTES if streamed else None,
    )
    process.send((request.model_dump_json() + "\n").encode())
    timeline.mark("reference started", process.pid)
    return process


def _reference_request(check: Check, **run: Any) -> ReferenceRequest:
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


def _wait_for(
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


def _reference_result(check: Check, process: WorkerProcess) -> ReferenceResult:
    path = check.folder.reference_result
    if process.proc.poll() is None and not path.is_file():  # after "done" it judges on
        process.proc.wait(timeout=10)
    if process.kill_reason == "timeout":
        return _reference_error("timeout", f"The check took longer than {check.timeout_s:g} s.")
    if process.kill_reason == "abandoned":
        return _reference_error("abandoned", "Keras failed, so our forward was stopped.")
    try:
        result = ReferenceResult.model_validate_json(path.read_bytes())
    except (OSError, ValueError):
        logger.warning("the reference side failed: %s", process.stderr_tail())
        return _reference_error("reference-failed", "Our reference forward failed on this model.")
    if result.code == "reference-failed":  # a bug of ours: its traceback is on stderr
        logger.warning("the reference side failed: %s", process.stderr_tail())
    return result


def _reference_error(code: str, message: str) -> ReferenceResult:
    return ReferenceResult(status="error", code=code, message=message)


def _keras_request(check: Check, notes: list[str]) -> tuple[Any, _Blocked | None]:
    """The Keras side's check; (None, why) when Keras 3 cannot take the model's config at all."""
    if check.plan.op_layers:
        return None, _Blocked("keras3-op-layers", op_layers_sentence(check.plan.op_layers))
    if check.plan.keras3_blockers:
        keys = "; ".join(check.plan.keras3_blockers)
        message = f"Keras 3 refuses this config and the values differ from the defaults: {keys}."
        return None, _Blocked("keras3-refuses-config", message)
    if not check.plan.keras3_removals:  # the file as it is (nearly always)
        return _request(check, check.model_path), None
    notes.append(
        "Keras 3 reads some of this Keras 2 config otherwise; Keras "
        "ran a copy rewritten as follows, which changes nothing the model computes: "
        + "; ".join(check.plan.keras3_removals)
        + "."
    )
    return _request(check, check.folder.keras3_copy), None


def _request(check: Check, model_path: Path) -> Any:
    return keras_side.request(
        check.folder, model_path, check.kind, check.mode, check.keras_call, WINDOW_BYTES
    )


def unsaved_sentence(layers: list[str]) -> str:
    """Why a model whose file did not save some weights is not run, naming those layers."""
    shown = ", ".join(layers[:8]) + (f" and {len(layers) - 8} more" if len(layers) > 8 else "")
    return (
        f"The file stores no values for the weights of {len(layers)} layers ({shown}): its "
        "weights section is incomplete, so the model cannot be run as saved, by Keras or by "
        "our reference. Its parameters are counted from its config."
    )


def op_layers_sentence(op_layers: list[str]) -> str:
    """Why a model with tf.keras op layers is not checked against Keras, naming them."""
    return (
        f"This model has tf.keras op layers ({', '.join(op_layers)}): TensorFlow functions "
        "that tf.keras 2 recorded as layers, which Keras 3 cannot load. Our reference's "
        "outputs are shown without a comparison."
    )


def _relay(check: Check, publish: Publish) -> Callable[[Progress], None]:
    def on_progress(progress: Progress) -> None:
        publish(_running(check, progress.stage, progress.done, progress.total))

    return on_progress


def _running(check: Check, stage: str, done: int, total: int) -> CheckReport:
    return CheckReport(
        status="running",
        mode=check.mode,
        progress=CheckProgress(stage=stage, done=done, total=total),
        tolerance=check.tolerance,
    )


def _reference_side(folder: Path, reference: ReferenceResult) -> Side:
    return keras_side.mapped_side(folder, reference.layers, reference.outputs)


def _with_keras(
    modes: list[BatchNormModes], keras: Side, arrivals: Arrivals, mode: str
) -> list[BatchNormModes]:
    """Each layer's modes, with Keras' values for the mode it ran (taken as the layer was
    compared, or from its file when it is left)."""
    found = []
    for entry in modes:
        keras_values = arrivals.keras_sample(entry.layer, entry.axis)
        if keras_values is None and entry.layer not in arrivals.done:
            outputs = keras.layers.get(entry.layer)
            keras_values = sample(outputs[0], entry.axis) if outputs else None
        if keras_values is not None:
            entry = entry.model_copy(update={"keras": keras_values, "keras_mode": mode})
        found.append(entry)
    return found


def _keras_failed(
    check: Check, keras: JobResult, reference: ReferenceResult, notes: list
) -> CheckReport:
    report = _ended(
        check,
        keras_side.failure_status(keras),
        keras.code,
        keras.message,
        notes=notes + keras.notes,
    )
    report.inputs = check.inputs
    report.keras_call = keras.keras_call
    report.details = {"reason": keras.reason} if keras.reason else None
    if reference.status == "ok":
        outputs = check.plan.compared.outputs
        report.outputs = keras_side.reference_outputs(check.folder.path, reference.outputs, outputs)
    return report


def _blocked(
    check: Check, blocked: _Blocked, reference: ReferenceResult, notes: list[str]
) -> CheckReport:
    """Keras was not asked; our reference's outputs are shown when it ran."""
    if reference.status != "ok":
        status = "unsupported" if reference.code in REFERENCE_UNSUPPORTED else "error"
        return _ended(check, status, reference.code, reference.message, notes=notes)
    report = _ended(check, "unsupported", blocked.code, blocked.message, notes=notes)
    report.inputs = check.inputs
    outputs = check.plan.compared.outputs
    report.outputs = keras_side.reference_outputs(check.folder.path, reference.outputs, outputs)
    return report


def _ended(
    check: Check, status: str, code: str | None, message: str | None, notes: list[str]
) -> CheckReport:
    return CheckReport(
        status=status, code=code, message=message, mode=check.mode, notes=notes, tolerance=None
    )


def _verdict(status: str, comparison: Comparison) -> str:
    tolerance, first = comparison.tolerance, comparison.first_divergence
    carried = carried_only(comparison)
    own = ""
    if carried:
        output = ", the model's output too" if any(o.note for o in comparison.outputs) else ""
        own = (
            f" ({len(carried)} over it end to end, within it on Keras' own inputs: float32 "
            f"rounding carried from the layers before{output})"
        )
    if status == "passed":
        return f"Every layer matches Keras within {tolerance:g} of its output's scale{own}."
    if first is not None:
        return f"The outputs part from Keras at layer {first} (over {tolerance:g})."
    return f"A model output differs from Keras by more than {tolerance:g} of its scale."


def _timing(check: Check, reference: ReferenceResult, keras: JobResult) -> CheckTiming:
    return CheckTiming(
        reference_s=reference.reference_s or 0.0,
        keras_load_s=keras.timing.load_s if keras.timing else 0.0,
        keras_predict_s=keras.timing.predict_s if keras.timing else 0.0,
        total_s=round(time.monotonic() - check.created, 3),
    )
