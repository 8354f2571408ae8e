"""Every `code` a check can end with, besides the safety scan's refusal codes
(app.safety.refusals.REFUSAL_CODES): why it did not pass or did not run. They are stable.
A check not asked for has no code: `not_asked()` is its report.
"""

from app.schemas import CheckReport

CHECK_CODES: dict[str, str] = {
    "no-workers": "not_run: the service runs no Keras workers (KEX_WORKERS=0).",
    "keras-load-failed": "unsupported: Keras 3 cannot load the file; `details.reason` says why.",
    "keras3-refuses-config": "unsupported: Keras 3 refuses a config key that is not at its "
    "default value (Keras 2 files).",
    "keras3-refuses-name": 'unsupported: Keras 3 refuses a layer name containing "/" '
    "(Keras 2 accepted them) where the check could not rename it; the message names it.",
    "keras3-op-layers": "unsupported: the model has tf.keras op layers (TFOpLambda, "
    "SlicingOpLambda, TensorFlowOpLayer), which Keras 3 cannot load; our reference's outputs "
    "are shown without a comparison.",
    "weights-not-saved": "unsupported: the file lists layers whose weights it did not save "
    "(an incomplete weights section); the model is explained from its config, not run.",
    "string-inputs": "unsupported: an input of the model takes strings (StringLookup, "
    "TextVectorization), which the check cannot draw at random; the model is not run.",
    "keras-not-functional": "unsupported: the model has no layer graph (subclassed).",
    "keras-build-failed": "unsupported: Keras cannot build a model over every layer's output.",
    "unsupported-model": "unsupported: our reference has no forward for a class, or a call.",
    "disallowed-class": "refused: Keras built a layer whose class is not on the allowlist.",
    "keras-cpu-unsupported": "unsupported: TensorFlow's kernels for this server's CPU cannot run "
    "a layer (channels_first or dilated convolutions on CPUs without oneDNN); `details.reason` "
    "names it.",
    "keras-predict-failed": "error: Keras could not run the model on these inputs.",
    "invalid-inputs": "error: the inputs do not fit the model Keras built.",
    "invalid-weights": "error: Keras refused the weights of a spec (count or shapes).",
    "worker-crashed": "error: the Keras worker died before answering (killed, crashed).",
    "timeout": "error: the check took longer than KEX_CHECK_TIMEOUT_S.",
    "memory-exceeded": "error: the Keras worker went over its memory ceiling.",
    "invalid-result": "error: the worker's answer broke the result contract.",
    "write-failed": "error: the worker could not write its outputs.",
    "worker-failed": "error: the worker failed unexpectedly.",
    "workers-unavailable": "error: no Keras worker could be started.",
    "pool-stopped": "error: the service stopped before the check finished.",
    "busy": "error: the worker pool refused the job (it should not: checks are admitted).",
    "pool-error": "error: the worker pool failed running the check.",
    "reference-failed": "error: our reference forward failed (a bug of ours; logged).",
    "abandoned": "error: Keras failed, so our side was stopped (and a check whose report "
    "failed after it started is stopped whole, publishing nothing).",
    "check-failed": "error: the check failed on our side (a bug of ours; logged).",
}


def not_asked() -> CheckReport:
    """The check of a report that did not ask for one (check=false; `inspect` without
    --check)."""
    return CheckReport(status="not_run", message="Not asked for (check=false).")
