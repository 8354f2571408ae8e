"""What the comparison page shows: the sides, totals with deltas, the layer table (all, or
what changed: `?changed=1`, no script needed) and the chart of relative change per layer."""

from __future__ import annotations

from dataclasses import dataclass

from app.compare.schemas import Comparison, LayerDiff
from app.web.charts import ErrorChart, ErrorPoint, error_chart
from app.web.report_view import FORMATS

TOTALS = (
    ("params", "Parameters"),
    ("trainable", "Trainable"),
    ("non_trainable", "Non-trainable"),
    ("bytes", "Bytes"),
    ("layers", "Layers"),
    ("weights", "Weight arrays"),
)


@dataclass(frozen=True)
class TotalRow:
    label: str
    a: int
    b: int
    delta: int


@dataclass(frozen=True)
class LayerRow:
    layer: LayerDiff
    name: str  # b's path, or a's for a removed layer
    old_name: str | None  # a's path when it was renamed
    class_name: str
    badges: list[str]
    changed: bool
    anchor: str  # its id, which its bar in the chart links to


@dataclass(frozen=True)
class ComparisonView:
    formats: dict[str, str]
    totals: list[TotalRow]
    rows: list[LayerRow]
    changed_only: bool
    hidden: int  # rows left out by the filter
    chart: ErrorChart | None


def comparison_view(comparison: Comparison, changed_only: bool) -> ComparisonView:
    rows = [_row(i, layer) for i, layer in enumerate(comparison.layers)]
    shown = [row for row in rows if row.changed or not changed_only]
    return ComparisonView(
        formats={side: FORMATS[getattr(comparison, side).source.format] for side in ("a", "b")},
        totals=[_total(comparison, field, label) for field, label in TOTALS],
        rows=shown,
        changed_only=changed_only,
        hidden=len(rows) - len(shown),
        chart=_chart(rows, changed_only),
    )


def _total(comparison: Comparison, field: str, label: str) -> TotalRow:
    a, b = getattr(comparison.a.totals, field), getattr(comparison.b.totals, field)
    return TotalRow(label, a, b, b - a)


def _path(ref) -> str:
    return "/".join((*ref.path, ref.name))


def _row(i: int, layer: LayerDiff) -> LayerRow:
    ref = layer.b or layer.a
    assert ref is not None
    badges = [layer.status]
    if layer.status == "renamed" and layer.config:
        badges.append("changed")
    if layer.weights_status == "changed":
        badges.append("weights changed")
    changed = layer.status != "unchanged" or layer.weights_status == "changed"
    renamed = layer.status == "renamed" and layer.a is not None
    return LayerRow(
        layer=layer,
        name=_path(ref),
        old_name=_path(layer.a) if renamed else None,
        class_name=ref.class_name,
        badges=badges,
        changed=changed,
        anchor=f"change-{i}",
    )


def _chart(rows: list[LayerRow], changed_only: bool) -> ErrorChart | None:
    """A bar per layer that has weights on both sides, a link to its row: on this page, or,
    for an unchanged layer that `?changed=1` hides, on the page of every layer."""
    points = [
        ErrorPoint(
            name=row.name,
            value=row.layer.relative_change,
            verdict="failed" if _weights_changed(row) else "passed",
            title=f"{row.name}: ‖b − a‖/‖a‖ {row.layer.relative_change:.3g}, "
            + ("weights changed" if _weights_changed(row) else "weights equal bit for bit"),
            href=("?" if changed_only and not row.changed else "") + f"#{row.anchor}",
        )
        for row in rows
        if row.layer.b is not None and row.layer.relative_change is not None
    ]
    return error_chart(points, None) if points else None


def _weights_changed(row: LayerRow) -> bool:
    return row.layer.weights_status == "changed"
