"""The JSON contract. Field names are part of the API: other tools rely on them."""

from __future__ import annotations

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
    min: float
    max: float
    mean: float
    std: float


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


class Totals(Schema):
    params: int
    trainable: int
    non_trainable: int
    bytes: int
    layers: int
    weights: int = Field(description="Arrays in model.get_weights().")


class TensorInfo(Schema):
    name: str
    shape: ShapeJSON | None


class ModelInfo(Schema):
    name: str
    class_name: str
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]


class BatchNormWeight(Schema):
    role: Literal["gamma", "beta", "moving_mean", "moving_variance"]
    name: str
    index: int
    trainable: bool
    shape: list[int]


class ChannelValues(Schema):
    """Per-channel values, in channel order (at most `limit` channels are listed)."""

    gamma: list[float]
    beta: list[float]
    moving_mean: list[float]
    moving_variance: list[float]
    scale: list[float] = Field(description="gamma / sqrt(moving_variance + epsilon)")
    shift: list[float] = Field(description="beta - moving_mean * scale")
    listed: int
    truncated: bool


class Finding(Schema):
    code: str
    message: str
    channels: list[int] = Field(default_factory=list)


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


class CheckReport(Schema):
    status: CheckStatus
    message: str | None = None


class Report(Schema):
    id: str
    created_at: datetime
    source: Source
    model: ModelInfo
    totals: Totals
    layers: list[LayerReport]
    batchnorm: list[BatchNormReport]
    warnings: list[str]
    check: CheckReport


class ErrorBody(Schema):
    code: str = Field(description="Stable, kebab-case: tools match on it.")
    message: str = Field(description="A sentence a person understands.")
    details: dict[str, Any] | None = None


class SpecRequest(Schema):
    spec: dict[str, Any] | str = Field(
        description="What model.to_json() returns, as an object or a string."
    )


class Health(Schema):
    status: Literal["ok"]
    version: str
    layer_classes: int
