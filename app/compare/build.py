"""The `Comparison` of two read models: matching, configs, weights, BatchNormalization,
writers, assembled. Computing only: the readers, the isolation and the store are callers'."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from app.analysis.breakdown import totals
from app.analysis.report import model_info
from app.compare.batchnorm import batchnorm_diff
from app.compare.configs import config_changes
from app.compare.matching import Entry, Pair, entries, match
from app.compare.schemas import (
    Comparison,
    ComparisonCounts,
    ComparisonSide,
    LayerDiff,
    LayerRef,
    TotalsDelta,
    Verdict,
)
from app.compare.weights import Sums, weight_diff, weight_pairs
from app.compare.writers import drifts
from app.formats import LoadedModel
from app.schemas import Source

TRAINING_STATE = frozenset({"trainable"})
DELTA_FIELDS = ("params", "trainable", "non_trainable", "bytes", "layers", "weights")


@dataclass
class SideModel:
    """One side, read and resolved: the model, its source, its report when one was made."""

    loaded: LoadedModel
    source: Source
    report_id: str | None = None


def compare_models(a: SideModel, b: SideModel, comparison_id: str) -> Comparison:
    pairs = match(entries(a.loaded.graph), entries(b.loaded.graph))
    same_writer = a.source.keras_version == b.source.keras_version
    layers = [layer_diff(pair, same_writer) for pair in pairs]
    side_a, side_b = _side(a), _side(b)
    inputs_changed = _inputs(side_a) != _inputs(side_b)
    verdict = _verdict(layers, inputs_changed)
    return Comparison(
        id=comparison_id,
        created_at=datetime.now(UTC),
        verdict=verdict,
        summary=_summary(verdict, layers),
        a=side_a,
        b=side_b,
        delta=TotalsDelta(
            **{f: getattr(side_b.totals, f) - getattr(side_a.totals, f) for f in DELTA_FIELDS}
        ),
        counts=_counts(layers),
        inputs_changed=inputs_changed,
        layers=layers,
        batchnorm=_batchnorm(layers),
        drifts=drifts(a.loaded, b.loaded, pairs),
    )


def layer_diff(pair: Pair, same_writer: bool) -> LayerDiff:
    sums = Sums()
    a_weights = pair.a.node.weights if pair.a else []
    b_weights = pair.b.node.weights if pair.b else []
    weights = [weight_diff(x, y, sums) for x, y in weight_pairs(a_weights, b_weights)]
    config = []
    if pair.a is not None and pair.b is not None:
        config = config_changes(pair.a.node, pair.b.node, same_writer)
    return LayerDiff(
        status=_status(pair, bool(config)),
        matched_by=pair.matched_by,
        a=_ref(pair.a),
        b=_ref(pair.b),
        config=config,
        weights_status=_weights_status(weights) if pair.a and pair.b else "unmatched",
        weights=weights,
        relative_change=sums.relative() if pair.a and pair.b and weights else None,
    )


def _status(pair: Pair, config_changed: bool):
    if pair.a is None:
        return "added"
    if pair.b is None:
        return "removed"
    if pair.a.path != pair.b.path:
        return "renamed"
    return "changed" if config_changed else "unchanged"


def _weights_status(weights) -> str:
    if not weights:
        return "none"
    if any(w.status == "not-stored" for w in weights):
        return "not-stored"
    return "equal" if all(w.status == "equal" for w in weights) else "changed"


def _ref(entry: Entry | None) -> LayerRef | None:
    if entry is None:
        return None
    node = entry.node
    return LayerRef(
        name=node.name,
        path=list(entry.parents),
        class_name=node.class_name,
        params=sum(w.count for w in node.weights),
        trainable=node.trainable_flag,
    )


def _side(side: SideModel) -> ComparisonSide:
    graph = side.loaded.graph
    return ComparisonSide(
        report_id=side.report_id,
        source=side.source,
        model=model_info(graph),
        totals=totals(graph),
    )


def _batchnorm(layers: list[LayerDiff]) -> list:
    """Each BatchNormalization's finding, once some weight moved: between two files with
    every weight equal there was no training to speak of."""
    if not any(layer.weights_status == "changed" for layer in layers):
        return []
    return [bn for layer in layers if (bn := batchnorm_diff(layer)) is not None]


def _inputs(side: ComparisonSide) -> list[tuple]:
    """The inputs' shapes and dtypes (their names are compared with their layers)."""
    return [(str(i.shape), i.dtype) for i in side.model.inputs]


def _verdict(layers: list[LayerDiff], inputs_changed: bool) -> Verdict:
    if inputs_changed or any(_architecture_changed(layer) for layer in layers):
        return "architecture-differs"
    if any(layer.weights_status not in ("equal", "none") for layer in layers):
        return "weights-differ"
    return "identical"


def _architecture_changed(layer: LayerDiff) -> bool:
    """`trainable` is how the layer was trained, not what it computes: a change of it alone
    (a backbone frozen for fine-tuning) is listed but leaves the architecture the same."""
    if layer.status != "changed":
        return layer.status != "unchanged"
    return any(change.key not in TRAINING_STATE for change in layer.config)


def _counts(layers: list[LayerDiff]) -> ComparisonCounts:
    count = {s: sum(layer.status == s for layer in layers) for s in ComparisonCounts.model_fields}
    count["weights_changed"] = sum(layer.weights_status == "changed" for layer in layers)
    return ComparisonCounts(**count)


def _summary(verdict: Verdict, layers: list[LayerDiff]) -> str:
    counts = _counts(layers)
    if verdict == "identical":
        return (
            "The two files hold the same model: the same layers and configs, every weight "
            "equal bit for bit."
        )
    changed = counts.weights_changed
    weights = f"{changed} layer{'s' if changed != 1 else ''} with changed weights"
    if verdict == "weights-differ":
        return f"The same architecture; {weights}."
    parts = [
        f"{n} {what}"
        for what, n in (
            ("added", counts.added),
            ("removed", counts.removed),
            ("renamed", counts.renamed),
            ("changed", counts.changed),
        )
        if n
    ]
    return f"The architecture differs ({', '.join(parts) or 'the inputs'}); {weights}."
