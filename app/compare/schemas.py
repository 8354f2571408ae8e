"""The JSON contract of a comparison. Field names are part of the API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from app.schemas import ModelInfo, Schema, Source, Totals

Side = Literal["a", "b"]
Verdict = Literal["identical", "weights-differ", "architecture-differs"]
LayerStatus = Literal["unchanged", "changed", "renamed", "added", "removed"]
WeightStatus = Literal["equal", "changed", "shape-changed", "added", "removed", "not-stored"]
LayerWeights = Literal["equal", "changed", "none", "not-stored", "unmatched"]


class ComparisonSide(Schema):
    report_id: str | None = Field(None, description="This side's report, when one was made.")
    source: Source
    model: ModelInfo
    totals: Totals


class TotalsDelta(Schema):
    """b − a."""

    params: int
    trainable: int
    non_trainable: int
    bytes: int
    layers: int
    weights: int


class LayerRef(Schema):
    name: str
    path: list[str] = Field(description="The enclosing models, outermost first.")
    class_name: str
    params: int
    trainable: bool


class ConfigChange(Schema):
    key: str
    a: Any = Field(description="The value in a (normalized: writers' spellings aside).")
    b: Any


class WeightDiff(Schema):
    name: str = Field(description="The variable's path inside the layer (b's when renamed).")
    role: str
    status: WeightStatus
    shape_a: list[int] | None
    shape_b: list[int] | None
    dtype_a: str | None
    dtype_b: str | None
    bit_equal: bool | None = Field(description="Same dtype and the same bytes; None: no values.")
    max_abs_change: float | None = Field(description="max |b − a|.")
    relative_change: float | None = Field(
        description="‖b − a‖ / ‖a‖ (L2 over every value); None when ‖a‖ = 0 and b ≠ a."
    )


class LayerDiff(Schema):
    status: LayerStatus
    matched_by: Literal["name", "position"] | None = Field(
        description="How a's layer was found in b; None for an added or removed layer."
    )
    a: LayerRef | None
    b: LayerRef | None
    config: list[ConfigChange] = Field(default_factory=list)
    weights_status: LayerWeights
    weights: list[WeightDiff] = Field(default_factory=list)
    relative_change: float | None = Field(
        None, description="‖b − a‖ / ‖a‖ over all the layer's weights of unchanged shape."
    )


class BatchNormDiff(Schema):
    layer: str = Field(description="b's name of the layer (a's when renamed).")
    moved: dict[str, bool] = Field(description="Per role present on both sides: not bit-equal.")
    trainable_a: bool
    trainable_b: bool
    finding: str = Field(description="trained, inference-mode, statistics-while-frozen, ...")
    message: str


class ComparisonCounts(Schema):
    unchanged: int
    changed: int
    renamed: int
    added: int
    removed: int
    weights_changed: int = Field(description="Matched layers with at least one weight changed.")


class Comparison(Schema):
    id: str
    created_at: datetime
    verdict: Verdict
    summary: str = Field(description="The verdict in one sentence.")
    a: ComparisonSide
    b: ComparisonSide
    delta: TotalsDelta
    counts: ComparisonCounts
    inputs_changed: bool = Field(description="The models' inputs differ in name or shape.")
    layers: list[LayerDiff]
    batchnorm: list[BatchNormDiff]
    drifts: list[str] = Field(
        description="What the writers compute otherwise (Keras 2 → 3), with equal configs."
    )


def new_comparison_id() -> str:
    return uuid.uuid4().hex
