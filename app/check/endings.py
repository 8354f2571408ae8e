"""The `CheckReport` a check publishes while it runs, and the one it ends with when it ends
without a comparison (Keras not asked, Keras failed, our side failed), with its sentences;
and the verdict's sentence and timing of one that compared (app.check.pipeline)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from app.check import keras_side
from app.check.check import Check
from app.check.compare import HALF_PRECISION_TOLERANCE, Comparison
from app.check.keras import JobResult
from app.check.reference_side import ReferenceResult
from app.check.rejudge import carried_only
from app.schemas import CheckProgress, CheckReport, CheckTiming

# Our reference has no forward for a class, or cannot take how it is called.
REFERENCE_UNSUPPORTED = frozenset({"unsupported-model"})


@dataclass(frozen=True)
class Blocked:
    """Why Keras is not asked at all: a check code and its sentence."""

    code: str
    message: str


def running(check: Check, stage: str, done: int, total: int) -> CheckReport:
    return CheckReport(
        status="running",
        mode=check.mode,
        progress=CheckProgress(stage=stage, done=done, total=total),
        tolerance=check.tolerance,
    )


def keras_failed(
    check: Check, keras: JobResult, reference: ReferenceResult, notes: list
) -> CheckReport:
    report = ended(
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


def blocked(
    check: Check, why: Blocked, reference: ReferenceResult, notes: list[str]
) -> CheckReport:
    """Keras was not asked (`why`); our reference's outputs are shown when it ran."""
    if reference.status != "ok":
        status = "unsupported" if reference.code in REFERENCE_UNSUPPORTED else "error"
        return ended(check, status, reference.code, reference.message, notes=notes)
    report = ended(check, "unsupported", why.code, why.message, notes=notes)
    report.inputs = check.inputs
    outputs = check.plan.compared.outputs
    report.outputs = keras_side.reference_outputs(check.folder.path, reference.outputs, outputs)
    return report


def ended(
    check: Check, status: str, code: str | None, message: str | None, notes: list[str]
) -> CheckReport:
    return CheckReport(
        status=status, code=code, message=message, mode=check.mode, notes=notes, tolerance=None
    )


def verdict(status: str, comparison: Comparison) -> str:
    tolerance, first = comparison.tolerance, comparison.first_divergence
    carried = carried_only(comparison)
    own = ""
    if carried:
        output = ", the model's output too" if any(o.note for o in comparison.outputs) else ""
        own = (
            f" ({len(carried)} over it end to end, within it on Keras' own inputs: "
            f"{'' if comparison.precision else 'float32 '}rounding carried from the layers "
            f"before{output})"
        )
    if status == "passed":
        halves = _half_precision(comparison)
        if halves:
            return f"Every layer matches Keras: {halves}, the others within {tolerance:g}{own}."
        return f"Every layer matches Keras within {tolerance:g} of its output's scale{own}."
    if first is not None:
        return f"The outputs part from Keras at layer {first} (over {comparison.held_to(first):g})."
    return f"A model output differs from Keras by more than {tolerance:g} of its scale."


def _half_precision(comparison: Comparison) -> str:
    """`the 5 layers computing in float16 within 3.91e-03 of their output's scale (its
    precision)`, or nothing."""
    counts = Counter(comparison.precision.values())
    return "; ".join(
        f"the {n} {'layer' if n == 1 else 'layers'} computing in {dtype} within "
        f"{HALF_PRECISION_TOLERANCE[dtype]:.2e} of {'its' if n == 1 else 'their'} output's "
        f"scale ({dtype}'s precision)"
        for dtype, n in sorted(counts.items())
    )


def timing(check: Check, reference: ReferenceResult, keras: JobResult) -> CheckTiming:
    return CheckTiming(
        reference_s=reference.reference_s or 0.0,
        keras_load_s=keras.timing.load_s if keras.timing else 0.0,
        keras_predict_s=keras.timing.predict_s if keras.timing else 0.0,
        total_s=round(time.monotonic() - check.created, 3),
    )


def unsaved_sentence(layers: list[str]) -> str:
    """Why a model whose file did not save some weights is not run, naming those layers."""
    shown = ", ".join(layers[:8]) + (f" and {len(layers) - 8} more" if len(layers) > 8 else "")
    return (
        f"The file stores no values for the weights of {len(layers)} layers ({shown}): its "
        "weights section is incomplete, so the model cannot be run as saved, by Keras or by "
        "our reference. Its parameters are counted from its config."
    )


def text_inputs_sentence(inputs: list[str]) -> str:
    """Why a model whose inputs take strings is not run, naming those inputs."""
    return (
        f"The model's input {', '.join(inputs)} takes strings (text for a StringLookup or "
        "TextVectorization), which the check cannot draw at random and our reference does "
        "not look up, so the model is not run. Its layers are explained from its config."
    )


def op_layers_sentence(op_layers: list[str]) -> str:
    """Why a model with tf.keras op layers is not checked against Keras, naming them."""
    return (
        f"This model has tf.keras op layers ({', '.join(op_layers)}): TensorFlow functions "
        "that tf.keras 2 recorded as layers, which Keras 3 cannot load. Our reference's "
        "outputs are shown without a comparison."
    )
