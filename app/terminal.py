"""A report as plain-text tables for a terminal (the CLI's presentation; no analysis here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.display import human_bytes, keras_call, number, shape
from app.schemas import (
    BatchNormReport,
    CheckReport,
    LayerForward,
    LayerReport,
    Report,
    Totals,
    WeightFinding,
)

if TYPE_CHECKING:  # a diagnosis is rendered only for `inspect --yours`, which imports it
    from app.diagnosis.schemas import Diagnosis, TensorError

LAYER_COLUMNS = ("Layer (class)", "Output shape", "Params", "Trainable", "Formula", "MACs", "FLOPs")


def render(report: Report, code: bool = False) -> str:
    """The report as text; `code` adds the reference's NumPy code, each function once."""
    sections = [_header(report), _layers(report.layers), _by_hand(report.layers)]
    if code:
        sections.append(_code(report))
    if report.findings:
        sections.append(_findings(report.findings))
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
            f"MACs: {t.macs:,}, FLOPs: {t.flops:,} (batch 1{_sizes(t)}{_unknown(t.cost_unknown)})",
            f"Peak activation memory: {human_bytes(t.peak_activation_bytes)} "
            f"(parameters: {human_bytes(t.bytes)})",
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
        _count(layer.macs),
        _count(layer.flops),
    )


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _sizes(totals: Totals) -> str:
    """The size used for each input's unknown dimensions, and whether it was asked for."""
    used = [
        f"{d.input} at {d.size}{'' if d.asked else ' (default; --unknown-dims sets it)'}"
        for d in totals.unknown_dims
    ]
    return f"; unknown dimensions: {', '.join(used)}" if used else ""


def _unknown(layers: Sequence[str]) -> str:
    return f"; not counted: {', '.join(layers)}" if layers else ""


def _by_hand(layers: Sequence[LayerReport]) -> str:
    blocks = [_hand(layer, layer.forward) for layer in layers if layer.forward is not None]
    return "By hand (inspect --code adds the NumPy code):\n\n" + "\n\n".join(blocks)


def _hand(layer: LayerReport, fw: LayerForward) -> str:
    lines = [
        f"{layer.name} ({layer.class_name})",
        f"  settings: {fw.settings}",
        f"  formula:  {fw.formula}",
        f"  shapes:   {fw.shapes}",
    ]
    if fw.values:
        lines.append(f"  values:   {' · '.join(fw.values)}")
    lines += [f"  - {c}" for c in fw.conventions]
    lines.append(f"  code:     {fw.function}")
    return "\n".join(lines)


def _code(report: Report) -> str:
    """Each forward the layers run, then each helper they call, once."""
    forwards = [layer.forward for layer in report.layers if layer.forward is not None]
    texts = {fw.function: fw.code for fw in forwards}
    texts.update({k: v for k, v in report.reference_code.items() if k not in texts})
    blocks = [f"# {name}\n{text.rstrip()}" for name, text in texts.items()]
    return "The reference's NumPy code (app/reference):\n\n" + "\n\n".join(blocks)


FINDINGS_IN_FULL = 3  # per kind; the others are named only


def _findings(findings: Sequence[WeightFinding]) -> str:
    """What stands out, by kind: the first few in full, then the others' names."""
    by_code: dict[str, list[WeightFinding]] = {}
    for finding in findings:
        by_code.setdefault(finding.code, []).append(finding)
    lines = ["What stands out:"]
    for code, found in by_code.items():
        lines.append(f"  {code} ({len(found)}):")
        lines += [f"    ! {_where(f)}: {f.message}" for f in found[:FINDINGS_IN_FULL]]
        rest = found[FINDINGS_IN_FULL:]
        if rest:
            lines.append(f"    and {len(rest)} more: {', '.join(_where(f) for f in rest)}")
    return "\n".join(lines)


def _where(finding: WeightFinding) -> str:
    return "/".join([*finding.path, finding.layer, *([finding.weight] if finding.weight else [])])


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


def render_diagnosis(diagnosis: Diagnosis) -> str:
    """A diagnosis of the user's numbers: per tensor its error, then each mistake found."""
    lines = [f"Your numbers: {diagnosis.message}", f"  ({diagnosis.against_note})"]
    rows = [(t.name, *_tensor_errors(t), "yes" if t.matches else "no") for t in diagnosis.tensors]
    lines.append(table(("Tensor", "Max abs error", "Max rel error", "Matches"), rows))
    for rank, m in enumerate(diagnosis.mistakes, start=1):
        form = f" ({m.form})" if m.form else ""
        lines += [
            f"{rank}. {m.code} on {m.layer}{form}: {m.title}",
            f"   evidence: {m.evidence.error_to_mistake:.3g} from the mistaken forward, "
            f"{_from_keras(m.evidence.error_to_keras)}, on {m.evidence.tensor}",
            f"   {m.explanation}",
            f"   fix: {m.fix}",
        ]
    if diagnosis.difference is not None:
        lines.append(f"Difference: {diagnosis.difference.message}")
    return "\n".join(lines)


def _tensor_errors(t: TensorError) -> tuple[str, str]:
    """Max abs and rel error, or the two shapes where theirs is not Keras' shape."""
    if t.max_abs_error is None or t.max_rel_error is None:
        return f"shape {t.their_shape}", f"Keras' {t.shape}"
    return f"{t.max_abs_error:.3g}", f"{t.max_rel_error:.3g}"


def _from_keras(error: float | None) -> str:
    return "another shape than Keras'" if error is None else f"{error:.3g} from Keras"
