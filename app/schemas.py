"""The JSON contract. Field names are part of the API: other tools rely on them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Format = Literal["keras_v3", "legacy_h5", "spec_json"]
CheckStatus = Literal[
    "not_run", "queued", "running", "passed", "failed", "unsupported", "refused", "error"
]
ShapeJSON = list[int | None] | list[Any]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(Schema):
    format: Format
    sha256: str
    size: int = Field(description="Bytes received.")
    keras_version: str | None = Field(description="The Keras version recorded in the file.")
    backend: str | None = Field(description="The backend recorded in the file.")
    filename: str | None = Field(description="The file name as sent; for display only.")


class WeightStats(Schema):
    """Over the finite values; None when a weight holds none. NaN and ±Inf are counted apart."""

    min: float | None
    max: float | None
    mean: float | None
    std: float | None
    nan: int = Field(0, description="Values that are NaN.")
    inf: int = Field(0, description="Values that are +Inf or -Inf.")
    zeros: int = Field(0, description="Values exactly 0 (+0.0 or -0.0).")
    zero_fraction: float | None = Field(
        None, description="zeros over all the weight's values (sparsity), 0 to 1."
    )


class WeightReport(Schema):
    name: str = Field(description="The variable's path inside the layer, as Keras names it.")
    role: str = Field(description="kernel, bias, gamma, beta, moving_mean, moving_variance, ...")
    shape: list[int]
    dtype: str
    count: int
    trainable: bool
    bytes: int
    index: int = Field(description="Position in model.get_weights().")
    stored_name: str | None = Field(None, description="Where the file keeps it.")
    stats: WeightStats | None = Field(None, description="Present when the file holds values.")


class LayerForward(Schema):
    """How to compute the layer by hand: its math in Keras vocabulary with its own shapes and
    numbers, and the NumPy code the reference forward runs for it (its very source text)."""

    settings: str = Field(
        description='The config values that change the math: "relu · strides 2 · padding same".'
    )
    formula: str = Field(description='In Keras vocabulary: "y = relu(x · kernel + bias)".')
    shapes: str = Field(
        description='Its tensors and weights: "x (None, 4096) · kernel (4096, 512) · bias (512,) '
        '→ y (None, 512)".'
    )
    values: list[str] = Field(
        default_factory=list,
        description='The values of its small weights (at most 8 values): "gamma = [1, 1]"; for '
        "a spec, which stores none, a constant initializer's, marked: \"beta = [0, 0] "
        '(initializer)".',
    )
    conventions: list[str] = Field(
        default_factory=list,
        description="What a port by hand gets wrong, where it applies: layouts, padding, gates.",
    )
    function: str = Field(description='The reference function: "core.dense".')
    code: str = Field(
        description="Its source text, as app/reference runs it and the exported program holds "
        "it; for a forward a factory makes (ops.Add, RandomFlip), the line that makes it: "
        "\"ops_add_forward = _binary('Add')\"."
    )
    helpers: list[str] = Field(
        default_factory=list,
        description="What it uses, directly or not, callees first (functions, classes, "
        "constants: forwards.weight, app.errors.UnsupportedModel); their text is in the "
        "report's reference_code.",
    )


class LayerReport(Schema):
    name: str
    class_name: str
    path: list[str] = Field(description="The enclosing models, outermost first.")
    depth: int
    known: bool = Field(description="False for a class the explainer does not know.")
    is_model: bool = Field(description="A nested Sequential or Functional model.")
    trainable: bool
    inbound: list[str] = Field(description="Names of the layers feeding its first call.")
    calls: int
    output_shape: ShapeJSON | None
    params: int
    trainable_params: int
    non_trainable_params: int
    bytes: int
    formula: str = Field(
        description='How the count comes out, e.g. "4096 × 512 + 512 = 2,097,664".'
    )
    summary: str = Field(description="What the layer computes.")
    weights: list[WeightReport]
    notes: list[str] = Field(default_factory=list)
    macs: int | None = Field(
        None, description="Multiply-accumulates of a forward pass at batch 1 (all its calls)."
    )
    flops: int | None = Field(None, description="FLOPs: 2 × MACs plus the other arithmetic.")
    macs_formula: str = Field("", description='e.g. "4 × 4 × 8 outputs × (3 × 3 × 3) = ..."')
    flops_formula: str = Field("", description='e.g. "2 × 3,456 MACs + 128 bias adds = ..."')
    output_bytes: int | None = Field(
        None, description="Its outputs at batch 1 in its compute dtype (all its calls)."
    )
    forward: LayerForward | None = Field(
        None, description="The layer by hand; None for inputs, nested models, unknown classes."
    )


class UnknownDim(Schema):
    """The size costs count a model input's unknown dimensions at (all but the batch axis)."""

    input: str = Field(description="The input's name.")
    size: int = Field(description="The size used for each of its unknown dimensions.")
    asked: bool = Field(
        description="True: asked for (the unknown_dims option); false: the default size."
    )


class Totals(Schema):
    params: int
    trainable: int
    non_trainable: int
    bytes: int
    layers: int
    weights: int = Field(description="Arrays in model.get_weights().")
    macs: int = Field(0, description="Multiply-accumulates of a forward pass at batch 1.")
    flops: int = Field(0, description="FLOPs of a forward pass at batch 1 (see the API notes).")
    cost_unknown: list[str] = Field(
        default_factory=list, description="Layers whose cost is not known (not in the sums)."
    )
    peak_activation_bytes: int = Field(
        0,
        description="The most layer outputs alive at once at batch 1, running the layers in "
        "topological order and freeing each tensor after its last use.",
    )
    unknown_dims: list[UnknownDim] = Field(
        default_factory=list,
        description="Per input with unknown dimensions, the size MACs, FLOPs and activation "
        "memory count them at: 32 unless asked otherwise (the unknown_dims option).",
    )


class TensorInfo(Schema):
    name: str
    shape: ShapeJSON | None


class InputInfo(TensorInfo):
    dtype: str = Field(description="The Input's dtype; a check's inputs are cast to it.")


class ModelInfo(Schema):
    name: str
    class_name: str
    inputs: list[InputInfo]
    outputs: list[TensorInfo]


class BatchNormWeight(Schema):
    role: Literal["gamma", "beta", "moving_mean", "moving_variance"]
    name: str
    index: int
    trainable: bool
    shape: list[int]


class ChannelValues(Schema):
    """Per-channel values, in channel order (at most `limit` channels are listed); null where
    a value is NaN or ±Inf (JSON has no such numbers; the layer's findings name them)."""

    gamma: list[float | None]
    beta: list[float | None]
    moving_mean: list[float | None]
    moving_variance: list[float | None]
    scale: list[float | None] = Field(description="gamma / sqrt(moving_variance + epsilon)")
    shift: list[float | None] = Field(description="beta - moving_mean * scale")
    listed: int
    truncated: bool


class Finding(Schema):
    code: str
    message: str
    channels: list[int] = Field(default_factory=list)


class WeightFinding(Schema):
    """Something the weights' values show about a layer (app.analysis.health)."""

    code: Literal[
        "not-finite", "looks-untrained", "bias-all-zero", "dead-channels", "identical-filters"
    ] = Field(description="Stable, kebab-case: tools match on it.")
    layer: str
    path: list[str] = Field(default_factory=list, description="The enclosing models.")
    weight: str | None = Field(None, description="The weight's name in its layer, if one.")
    message: str = Field(description="What was found, with its numbers, in one paragraph.")
    channels: list[int] = Field(
        default_factory=list,
        description="The channels concerned (at most 4,096): dead ones, or identical filters "
        "in groups one after another.",
    )


class BatchNormReport(Schema):
    layer: str
    path: list[str]
    axis: int | list[int]
    channels: int
    epsilon: float
    momentum: float
    center: bool
    scale: bool
    trainable: bool
    weights: list[BatchNormWeight]
    set_weights_order: list[str] = Field(description="The roles, in the order set_weights expects.")
    values_from: Literal["file", "initializers"]
    inference_formula: str
    worked_example: str
    training_formula: str
    channel_stats: dict[str, WeightStats]
    channel_values: ChannelValues
    findings: list[Finding]


class CheckInputs(Schema):
    """How the check's inputs were made."""

    source: Literal["seeded", "caller"]
    seed: int | None = None
    distribution: str | None = None
    batch_size: int
    shapes: list[list[int]]
    notes: list[str] = Field(default_factory=list)


class CheckProgress(Schema):
    stage: Literal["queued", "loading", "building", "predicting", "writing", "comparing"]
    done: int
    total: int


class ReportProgress(Schema):
    """How far a `POST /api/v1/reports` sent with `progress=<key>` has got, while it runs."""

    stage: Literal["received", "reading", "reporting", "check"] | None = Field(
        description="received: the upload is in; reading: the safety scan, then the layers "
        "and weights, in a throwaway process; reporting: the breakdown, weight statistics, "
        "BatchNormalization analyses and costs; check: the report is stored and the request "
        "waits for the check (`wait=true`). null: no request runs under this key here (not "
        "begun, already answered, or sent to another replica)."
    )
    step: int = Field(description="The stage's place, from 1; 0 with no stage.")
    steps: int
    seconds: float | None = Field(description="Since the upload was in; null with no stage.")


class CheckLayer(Schema):
    """One layer's outputs, ours against Keras', every call and output tensor together."""

    name: str
    class_name: str
    output_shape: list[list[int]] = Field(description="One shape per output tensor.")
    max_abs_error: float | None
    max_rel_error: float | None = Field(
        description="max |ours − Keras| / max |Keras|: the error relative to the output's "
        "scale, end to end (ours from our inputs to the layer, Keras' from Keras')."
    )
    verdict: Literal["passed", "failed", "not_compared"] = Field(
        description="`passed`: within the tolerance end to end, or, when over it end to end, "
        "within it on Keras' own inputs (our forward of this one layer fed Keras' outputs of "
        "its inbound layers; `note` gives both errors). `failed`: over it on Keras' inputs "
        "too, or not judged on them (`note` says why), or the output shapes differ."
    )
    note: str | None = None


class CheckOutput(Schema):
    name: str
    shape: list[int]
    max_abs_error: float | None = Field(None, description="None when Keras gave no output.")
    max_rel_error: float | None = Field(None, description="End to end, as a layer's.")
    note: str | None = Field(
        None,
        description="Over the tolerance end to end while the layer giving it is within it on "
        "Keras' own inputs: both numbers (the check passes it, as it passes that layer).",
    )
    reference: Any = Field(None, description="Our values, when at most 4,096.")
    keras: Any = Field(None, description="Keras' values, when at most 4,096.")


class CheckTiming(Schema):
    reference_s: float = Field(
        description="Our NumPy forward, every layer's outputs written; the time it spent "
        "waiting for the comparison to take them, or answering its questions (layers run "
        "again on Keras' inputs), left out."
    )
    keras_load_s: float
    keras_predict_s: float = Field(description="predict over every layer's output.")
    total_s: float = Field(description="From queued to done, waiting included.")


class BatchNormModes(Schema):
    """One BatchNormalization layer's outputs in both modes, on the check's inputs.

    Values are at the first position of the first sample, for the first channels along the
    layer's axis: what the layer receives, what it gives at inference (moving statistics)
    and in training mode (the batch's statistics), and what Keras gave in the mode it ran.
    """

    layer: str
    axis: int = Field(description="The channel axis, counted from 0 (the batch axis).")
    channels: list[int]
    inputs: list[float]
    inference: list[float]
    training: list[float]
    keras: list[float] | None = None
    keras_mode: Literal["inference", "training"] | None = None


# How Keras runs the model: `call`, an eager `probe(x, training=...)`, or `predict`
# (inference only). Both give the same numbers (bench/keras_call.py); `predict` first traces
# the model, which a single-use worker pays on every check, and which a recurrent layer's
# loop, run step by step from Python when called eagerly, repays.
KerasCall = Literal["call", "predict"]


class CheckReport(Schema):
    status: CheckStatus
    message: str | None = None
    code: str | None = Field(None, description="Why it stopped, for refused/unsupported/error.")
    mode: Literal["inference", "training"] = "inference"
    keras_call: KerasCall | None = Field(
        None,
        description="The call Keras ran: `call` (an eager `probe(x, training=False)`, or "
        "`training=True` in training mode) or `predict`; null until Keras has run.",
    )
    progress: CheckProgress | None = None
    inputs: CheckInputs | None = None
    tolerance: float | None = Field(None, description="Largest max_rel_error that passes.")
    layers: list[CheckLayer] = Field(default_factory=list)
    first_divergence: str | None = Field(None, description="The first layer over tolerance.")
    outputs: list[CheckOutput] = Field(default_factory=list)
    keras_version: str | None = None
    timing: CheckTiming | None = None
    batchnorm: list[BatchNormModes] = Field(
        default_factory=list, description="Each BatchNormalization layer in both modes."
    )
    notes: list[str] = Field(default_factory=list)
    details: dict[str, Any] | None = None


class Report(Schema):
    id: str  # new_report_id()
    created_at: datetime
    source: Source
    model: ModelInfo
    totals: Totals
    layers: list[LayerReport]
    batchnorm: list[BatchNormReport]
    warnings: list[str]
    findings: list[WeightFinding] = Field(
        default_factory=list,
        description="What the weights' values show, layer by layer: NaN or ±Inf values, "
        "kernels whose statistics are their initializer's, all-zero biases, channels that "
        "a BatchNormalization followed by a ReLU makes dead, identical filters.",
    )
    check: CheckReport
    reference_code: dict[str, str] = Field(
        default_factory=dict,
        description="The source text of every helper a layer's forward uses (module.name).",
    )


def new_report_id() -> str:
    """A new report's id: 32 random hex digits."""
    return uuid.uuid4().hex


class ErrorBody(Schema):
    code: str = Field(description="Stable, kebab-case: tools match on it.")
    message: str = Field(description="A sentence a person understands.")
    details: dict[str, Any] | None = None


class SpecRequest(Schema):
    spec: dict[str, Any] | str = Field(
        description="What model.to_json() returns, as an object or a string."
    )


class WorkerState(Schema):
    """The Keras worker pool, as /api/v1/health reports it."""

    workers: int = Field(description="Worker processes alive: warm, starting or busy.")
    warm: int
    starting: int
    busy: int
    queued: int = Field(description="Keras jobs waiting for a worker.")
    keras_version: str | None = Field(description="Reported by a worker once warm.")
    tf_version: str | None
    spawn_failures: int
    isolations: dict[str, bool] = Field(
        default_factory=dict,
        description="Walls around each worker in force here: network_namespace, rlimits, ...",
    )


class Health(Schema):
    status: Literal["ok"]
    version: str
    layer_classes: int = Field(description="Layer classes the registry knows.")
    checks: Literal["enabled", "disabled"] = Field(
        description="disabled when KEX_WORKERS=0 and no queue takes the checks."
    )
    active_checks: int = Field(0, description="Checks queued or running.")
    workers: WorkerState | None = None
