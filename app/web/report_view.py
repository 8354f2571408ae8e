"""What the report page shows, in the order a person reads it; numbers as the report has them.

The parameter chart lists the layers that hold the most parameters (nested models are not
rows: their layers are) and sums the rest into one row, so it reads the same on 5 layers and
on 500; a second chart sums by class of layer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from app.schemas import LayerReport, Report
from app.web.charts import ShareBar, share_bar
from app.web.check_view import CheckView, check_view
from app.web.code_view import CodeBlock, code_blocks
from app.web.findings_view import FindingGroup, finding_groups
from app.web.layer_view import LayerFilter, LayerTable, anchor, anchors_by_name, layer_table

TOP_LAYERS = 10
FORMATS = {
    "keras_v3": ".keras archive",
    "legacy_h5": "legacy HDF5",
    "spec_json": "to_json() spec",
}


@dataclass(frozen=True)
class ShareRow:
    label: str
    detail: str
    href: str | None
    params: int
    trainable: int
    non_trainable: int
    bar: ShareBar


@dataclass(frozen=True)
class MacsRow:
    label: str
    detail: str
    href: str | None
    macs: int
    bar: ShareBar


@dataclass(frozen=True)
class ReportView:
    report: Report
    format_label: str
    top_layers: list[ShareRow]
    by_class: list[ShareRow]
    total_bar: ShareBar
    layers: LayerTable
    check: CheckView
    batchnorm_anchors: dict[str, str]
    code: list[CodeBlock]
    findings: list[FindingGroup]
    top_macs: list[MacsRow]


def report_view(report: Report, query: Mapping[str, str]) -> ReportView:
    total = report.totals
    return ReportView(
        report=report,
        format_label=FORMATS[report.source.format],
        top_layers=top_layers(report.layers, total.params),
        by_class=by_class(report.layers, total.params),
        total_bar=share_bar(total.trainable, total.non_trainable, total.params),
        layers=layer_table(report.layers, LayerFilter.from_query(query)),
        check=check_view(report.check, anchors_by_name(report.layers)),
        batchnorm_anchors=batchnorm_anchors(report),
        code=code_blocks(report),
        findings=finding_groups(report.findings),
        top_macs=top_macs(report.layers, total.macs),
    )


def top_layers(layers: list[LayerReport], total: int, top: int = TOP_LAYERS) -> list[ShareRow]:
    """The `top` layers with the most parameters, then one row for all the others."""
    holding = [layer for layer in layers if not layer.is_model and layer.params > 0]
    ranked = sorted(holding, key=lambda layer: -layer.params)
    rows = [_layer_row(layer, total) for layer in ranked[:top]]
    rest = ranked[top:]
    if rest:
        trainable = sum(layer.trainable_params for layer in rest)
        non_trainable = sum(layer.non_trainable_params for layer in rest)
        rows.append(
            ShareRow(
                label=f"{len(rest):,} other layers",
                detail="with parameters",
                href=None,
                params=trainable + non_trainable,
                trainable=trainable,
                non_trainable=non_trainable,
                bar=share_bar(trainable, non_trainable, total),
            )
        )
    return rows


def top_macs(layers: list[LayerReport], total: int, top: int = TOP_LAYERS) -> list[MacsRow]:
    """The `top` layers with the most MACs, then one row for all the others (none when the
    model computes no MACs)."""
    if total <= 0:
        return []
    counted = [layer for layer in layers if not layer.is_model and layer.macs]
    ranked = sorted(counted, key=lambda layer: -(layer.macs or 0))
    rows = [
        MacsRow(
            label=layer.name,
            detail=_where(layer),
            href=f"#{anchor(layer)}",
            macs=layer.macs or 0,
            bar=share_bar(layer.macs or 0, 0, total),
        )
        for layer in ranked[:top]
    ]
    rest = sum(layer.macs or 0 for layer in ranked[top:])
    if rest:
        label = f"{len(ranked) - top:,} other layers"
        rows.append(MacsRow(label, "with MACs", None, rest, share_bar(rest, 0, total)))
    return rows


def _where(layer: LayerReport) -> str:
    where = " › ".join(layer.path)
    return f"{layer.class_name} in {where}" if where else layer.class_name


def by_class(layers: list[LayerReport], total: int) -> list[ShareRow]:
    """Parameters summed per class of layer, largest first (classes without any left out)."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for layer in layers:
        if not layer.is_model and layer.params > 0:
            entry = sums[layer.class_name]
            entry[0] += 1
            entry[1] += layer.trainable_params
            entry[2] += layer.non_trainable_params
    ranked = sorted(sums.items(), key=lambda item: -(item[1][1] + item[1][2]))
    return [
        ShareRow(
            label=name,
            detail=f"{n:,} layer{'s' if n != 1 else ''}",
            href=f"?{urlencode({'class': name})}#layers",
            params=trainable + non_trainable,
            trainable=trainable,
            non_trainable=non_trainable,
            bar=share_bar(trainable, non_trainable, total),
        )
        for name, (n, trainable, non_trainable) in ranked
    ]


def batchnorm_anchors(report: Report) -> dict[str, str]:
    """BatchNormalization layer name → its row in the layer table."""
    wanted = {bn.layer for bn in report.batchnorm}
    return {layer.name: anchor(layer) for layer in report.layers if layer.name in wanted}


def _layer_row(layer: LayerReport, total: int) -> ShareRow:
    where = " › ".join(layer.path)
    return ShareRow(
        label=layer.name,
        detail=f"{layer.class_name} in {where}" if where else layer.class_name,
        href=f"#{anchor(layer)}",
        params=layer.params,
        trainable=layer.trainable_params,
        non_trainable=layer.non_trainable_params,
        bar=share_bar(layer.trainable_params, layer.non_trainable_params, total),
    )
