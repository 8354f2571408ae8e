"""A report as plain-text tables for a terminal (the CLI's presentation; no analysis here)."""

from __future__ import annotations

from collections.abc import Sequence

from app.display import human_bytes, keras_call, number, shape
from app.schemas import BatchNormReport, CheckReport, LayerReport, Report

LAYER_COLUMNS = ("Layer (class)", "Output shape", "Params", "Trainable", "Formula")


def render(report: Report) -> str:
    sections = [_header(report), _layers(report.layers)]
    sections += [_batchnorm(bn) for bn in report.batchnorm]
    sections.append(_check(report.check))
    if report.warnings:
        sections.append("Warnings:\n" + "\n".join(f"  - {w}" for w in report.warnings))
    return "\n\n".join(sections)


def _header(report: Report) -> str:
    t, s = report.totals, report.source
    written = f"Keras {s.keras_version}" if s.keras_version else "Keras version not recorded"
    return "\n".join(
        [
            f"{report.model.name} ({report.model.class_name}), {s.format}, {written}",
            f"Total params: {t.params:,} ({human_bytes(t.bytes)})",
            f"Trainable params: {t.trainable:,}",
            f"Non-trainable params: {t.non_trainable:,}",
        ]
    )


def _layers(layers: Sequence[LayerReport]) -> str:
    rows = [_layer_row(layer) for layer in layers]
    return table(LAYER_COLUMNS, rows)


def _layer_row(layer: LayerReport) -> tuple[str, ...]:
    indent = "  " * layer.depth
    return (
        f"{indent}{layer.name} ({layer.class_name})",
        shape(layer.output_shape),
        f"{layer.params:,}",
        f"{layer.trainable_params:,}",
        layer.formula,
    )


def _batchnorm(bn: BatchNormReport) -> str:
    weights = ", ".join(
        f"{w.role} #{w.index} ({'trainable' if w.trainable else 'non-trainable'})"
        for w in bn.weights
    )
    lines = [
        f"BatchNormalization {bn.layer}: {bn.channels} channels, epsilon {bn.epsilon:g}, "
        f"momentum {bn.momentum:g}, axis {bn.axis}",
        f"  get_weights(): {weights}",
        f"  set_weights order: [{', '.join(bn.set_weights_order)}]",
        f"  inference: {bn.inference_formula}",
    ]
    lines += [f"  ! {finding.message}" for finding in bn.findings]
    return "\n".join(lines)


CHECK_COLUMNS = ("Layer (class)", "Output shape", "Max abs error", "Max rel error", "Verdict")


def _check(check: CheckReport) -> str:
    lines = [
        f"Manual vs predict: {check.status}" + (f" — {check.message}" if check.message else "")
    ]
    if check.keras_call is not None:
        lines.append(f"  Keras ran: {keras_call(check.keras_call, check.mode)}")
    if check.layers:
        rows = [
            (
                f"{layer.name} ({layer.class_name})",
                shape(layer.output_shape),
                number(layer.max_abs_error, 3),
                number(layer.max_rel_error, 3),
                layer.verdict,
            )
            for layer in check.layers
        ]
        lines.append(table(CHECK_COLUMNS, rows))
    lines += [f"  note: {note}" for note in check.notes]
    return "\n".join(lines)


def table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; numbers are expected pre-formatted."""
    widths = [max(len(str(c)) for c in column) for column in zip(columns, *rows, strict=True)]
    rule = "  ".join("-" * w for w in widths)
    lines = [_row(columns, widths), rule, *(_row(row, widths) for row in rows)]
    return "\n".join(lines)


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
