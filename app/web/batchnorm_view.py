"""One BatchNormalization layer's page: its weights, the set_weights order, charts, both modes."""

from __future__ import annotations

import json
from dataclasses import dataclass

from app.schemas import BatchNormModes, BatchNormReport, LayerReport, Report
from app.web.charts import ChannelChart, channel_chart
from app.web.check_view import CheckView, check_view
from app.web.layer_view import anchor, anchors_by_name

ROLE_TEXT = {
    "gamma": "learned per-channel scale; the optimizer updates it",
    "beta": "learned per-channel offset; the optimizer updates it",
    "moving_mean": "running mean of the inputs, updated by fit (momentum), not by the optimizer",
    "moving_variance": "running variance of the inputs, updated by fit, not by the optimizer",
}
FOLDED_TEXT = {
    "scale": "gamma / √(moving_variance + epsilon)",
    "shift": "beta − moving_mean · scale",
}
FINDING_TITLES = {
    "never-trained": "Never trained",
    "initial-values": "Initial values",
    "gamma-near-zero": "gamma near zero",
    "tiny-variance": "Tiny moving_variance",
    "non-default-epsilon": "Non-default epsilon",
    "frozen": "Frozen",
}
# Which findings point at channels of which chart.
FLAGGED_IN = {
    "gamma": ("gamma-near-zero",),
    "moving_variance": ("tiny-variance",),
    "scale": ("gamma-near-zero", "tiny-variance"),
}


@dataclass(frozen=True)
class ChannelPanel:
    name: str
    explains: str
    chart: ChannelChart
    flagged: list[int]


@dataclass(frozen=True)
class BatchNormView:
    report: Report
    bn: BatchNormReport
    layer: LayerReport | None
    layer_anchor: str | None
    snippet: str
    panels: list[ChannelPanel]
    modes: BatchNormModes | None
    check: CheckView
    role_text: dict[str, str]
    finding_titles: dict[str, str]
    pager: Pager


@dataclass(frozen=True)
class Pager:
    """Where this layer stands among the report's BatchNormalization layers, in model order."""

    position: int  # from 1
    total: int
    previous: str | None  # layer names
    next: str | None


def batchnorm_view(report: Report, bn: BatchNormReport) -> BatchNormView:
    layer = find_layer(report, bn)
    return BatchNormView(
        report=report,
        bn=bn,
        layer=layer,
        layer_anchor=anchor(layer) if layer else None,
        snippet=set_weights_snippet(bn),
        panels=channel_panels(bn),
        modes=next((m for m in report.check.batchnorm if m.layer == bn.layer), None),
        check=check_view(report.check, anchors_by_name(report.layers)),
        role_text=ROLE_TEXT,
        finding_titles=FINDING_TITLES,
        pager=pager(report, bn),
    )


def pager(report: Report, bn: BatchNormReport) -> Pager:
    names = [other.layer for other in report.batchnorm]
    i = report.batchnorm.index(bn)
    return Pager(
        position=i + 1,
        total=len(names),
        previous=names[i - 1] if i > 0 else None,
        next=names[i + 1] if i + 1 < len(names) else None,
    )


def find_layer(report: Report, bn: BatchNormReport) -> LayerReport | None:
    return next(
        (layer for layer in report.layers if layer.name == bn.layer and layer.path == bn.path),
        None,
    )


def set_weights_snippet(bn: BatchNormReport) -> str:
    """Python that reads this layer's weights and writes them back in the order Keras expects."""
    getter = "model" + "".join(f".get_layer({json.dumps(name)})" for name in [*bn.path, bn.layer])
    names = ", ".join(bn.set_weights_order)
    indices = ", ".join(str(w.index) for w in bn.weights)
    return (
        f"layer = {getter}\n"
        f"{names} = layer.get_weights()\n"
        f"layer.set_weights([{names}])\n"
        f"# in model.get_weights() these are at indices {indices}"
    )


def channel_panels(bn: BatchNormReport) -> list[ChannelPanel]:
    """One chart per array the layer has (beta/gamma only with center/scale), then scale/shift."""
    values = bn.channel_values
    names = [*bn.set_weights_order, "scale", "shift"]
    panels = []
    for name in names:
        flagged = _flagged(bn, name)
        panels.append(
            ChannelPanel(
                name=name,
                explains=ROLE_TEXT.get(name) or FOLDED_TEXT[name],
                chart=channel_chart(getattr(values, name), flagged),
                flagged=flagged,
            )
        )
    return panels


def _flagged(bn: BatchNormReport, name: str) -> list[int]:
    codes = FLAGGED_IN.get(name, ())
    channels = {c for finding in bn.findings if finding.code in codes for c in finding.channels}
    return sorted(channels)
