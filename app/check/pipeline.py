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
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app import timeline
from app.check import endings, keras_side, reference_process
from app.check.arrivals import Arrivals
from app.check.batchnorm_modes import sample
from app.check.check import Check
from app.check.compare import Comparison, Side, compare, compare_layer
from app.check.inputs import make_inputs, text_inputs
from app.check.keras import (
    InvalidResult,
    JobResult,
    Progress,
    WorkerPool,
    write_arrays,
)
from app.check.keras.jobs import failure
from app.check.keras.process import WorkerProcess
from app.check.reference_side import ReferenceResult
from app.check.rejudge import (
    calls_for,
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
    CheckReport,
)

logger = logging.getLogger(__name__)

POLL_S = 0.1
# How often the comparison looks for new layers once our side has ended and Keras runs on:
# what it has not taken when Keras' answer comes is compared after, when the check waits
# for nothing else (MobileNetV2, looking every POLL_S: 38 to 87 of its 155 layers left, 20
# to 60 ms of CPU). Keras' eager call keeps about one core busy; the other does these.
TAKE_EVERY_S = 0.02

Publish = Callable[[CheckReport], None]


@dataclass
class _Sides:
    reference: ReferenceResult
    keras: JobResult | None
    notes: list[str]
    blocked: endings.Blocked | None = None
    arrivals: Arrivals | None = None
    deadline: float = 0.0  # the check's time is up (time.monotonic())


def run_check(
    check: Check, pool: WorkerPool, publish: Publish, references: WarmReference
) -> CheckReport:
    """Run both sides and compare them; never raises for a model's fault."""
    if check.plan.unsaved_weights:  # no values to run: neither side is started
        message = endings.unsaved_sentence(check.plan.unsaved_weights)
        return endings.ended(check, "unsupported", "weights-not-saved", message, notes=[])
    if text_inputs(check.plan.inputs):  # nothing to run it on
        message = endings.text_inputs_sentence(text_inputs(check.plan.inputs))
        return endings.ended(check, "unsupported", "string-inputs", message, notes=[])
    if check.inputs is None:  # seeded: made here, so that a file's Keras side starts at once
        arrays, check.inputs = make_inputs(check.plan.inputs, check.seed)
        write_arrays(check.folder.inputs, "x", arrays)
    sides = _run_sides(check, pool, publish, references)
    reference, keras = sides.reference, sides.keras
    if keras is not None:  # under the file's names where the Keras 3 copy renamed layers
        keras = keras_side.in_file_names(keras, check.plan.keras3_names)
    if sides.blocked is not None:
        return endings.blocked(check, sides.blocked, reference, sides.notes)
    if keras is not None and keras.status != "ok":
        return endings.keras_failed(check, keras, reference, sides.notes)
    if reference.status != "ok" or keras is None:
        status = "unsupported" if reference.code in endings.REFERENCE_UNSUPPORTED else "error"
        return endings.ended(check, status, reference.code, reference.message, notes=sides.notes)
    publish(endings.running(check, "comparing", 0, 1))
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
        return endings.ended(check, "error", "invalid-result", message, notes=sides.notes)
    status = "passed" if comparison.passed else "failed"
    return CheckReport(
        status=status,
        message=endings.verdict(status, comparison),
        mode=check.mode,
        keras_call=keras.keras_call,
        inputs=check.inputs,
        tolerance=check.tolerance,
        layers=comparison.layers,
        first_divergence=comparison.first_divergence,
        outputs=comparison.outputs,
        keras_version=keras.keras_version,
        timing=endings.timing(check, reference, keras),
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
    compared = check.plan.compared
    calls, unjudged = calls_for(names, compared, keras_files, folder)
    result = reference_process.rejudged(check, references, calls, deadline)
    judged = {}
    for layer in comparison.layers:
        if layer.name not in names:
            continue
        again = None
        if layer.name in result.layers:
            mine = keras_side.mapped(folder, result.layers[layer.name])
            theirs = keras_side.mapped(folder, keras_files[layer.name])
            half = compared.precision.get(layer.name)
            again = compare_layer(layer.name, layer.class_name, mine, theirs, check.tolerance, half)
        why_not = unjudged.get(layer.name) or result.unjudged.get(layer.name)
        if why_not is None and result.status != "ok":
            why_not = f"Not judged on Keras' own inputs: {result.message}"
        held_to = compared.held_to(layer.name, check.tolerance)
        judged[layer.name] = judged_again(layer, again, why_not, held_to)
    return with_judged_again(comparison, judged)


def _run_sides(
    check: Check, pool: WorkerPool, publish: Publish, references: WarmReference
) -> _Sides:
    deadline = time.monotonic() + check.timeout_s
    notes: list[str] = []
    request, blocked = _keras_request(check, notes)
    # Our side waits for the comparison only when Keras runs beside it.
    window = WINDOW_BYTES if request is not None else None
    process = reference_process.start(check, references, window)
    try:
        arrivals = _arrivals(check, judging=request is not None)
        abandoned = _abandoned(check)
        if reference_process.keras_waits_for_it(check) and not reference_process.wait_for(
            process, "prepared", deadline, abandon_if=abandoned
        ):
            return _Sides(reference_process.answer(check, process), None, notes)
        future = None if request is None or abandoned() else _submit(pool, request, check, publish)
        keras_failed = _keras_failed_hard(future)
        reference_process.wait_for(
            process,
            "done",
            deadline,
            abandon_if=lambda: abandoned() or keras_failed(),
            on_poll=arrivals.take,
        )
        reference = reference_process.answer(check, process)
        if reference.status != "ok":  # nothing will take Keras' files: it need not wait
            (check.folder.path / REFERENCE_ENDED).touch()
        if abandoned() and future is not None:
            future.cancel()  # still queued: it never runs; running: the pool kills it
            return _Sides(reference, None, notes)
        keras = _keras_result(future, arrivals)
        _settle(arrivals, process, deadline)
        return _Sides(reference, keras, notes, blocked, arrivals, deadline)
    finally:
        reference_process.reap_later(process)


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


def _keras_request(check: Check, notes: list[str]) -> tuple[Any, endings.Blocked | None]:
    """The Keras side's check; (None, why) when Keras 3 cannot take the model's config at all."""
    if check.plan.op_layers:
        return None, endings.Blocked(
            "keras3-op-layers", endings.op_layers_sentence(check.plan.op_layers)
        )
    if check.plan.keras3_blockers:
        keys = "; ".join(check.plan.keras3_blockers)
        message = f"Keras 3 refuses this config and the values differ from the defaults: {keys}."
        return None, endings.Blocked("keras3-refuses-config", message)
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


def _relay(check: Check, publish: Publish) -> Callable[[Progress], None]:
    def on_progress(progress: Progress) -> None:
        publish(endings.running(check, progress.stage, progress.done, progress.total))

    return on_progress


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
