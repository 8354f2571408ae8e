"""`keras-explainer diff A B` as text: the verdict, totals side by side, what changed."""

from __future__ import annotations

from app.compare.schemas import Comparison, LayerDiff
from app.display import count, number

TOTALS = ("params", "trainable", "non_trainable", "bytes", "layers", "weights")


def render_comparison(comparison: Comparison, changed_only: bool = True) -> str:
    a, b = comparison.a, comparison.b
    lines = [
        f"a: {a.source.filename or a.model.name} · {a.source.format} · written by Keras "
        f"{a.source.keras_version or '(not recorded)'}",
        f"b: {b.source.filename or b.model.name} · {b.source.format} · written by Keras "
        f"{b.source.keras_version or '(not recorded)'}",
        "",
        f"{comparison.verdict}: {comparison.summary}",
        "",
        f"{'':<16}{'a':>16}{'b':>16}{'b − a':>16}",
    ]
    for field in TOTALS:
        x, y = getattr(a.totals, field), getattr(b.totals, field)
        lines.append(f"{field:<16}{count(x):>16}{count(y):>16}{_signed(y - x):>16}")
    lines.append("")
    shown = [layer for layer in comparison.layers if not changed_only or _changed(layer)]
    for layer in shown:
        lines += _layer_lines(layer)
    if not shown:
        lines.append("No layer changed.")
    for bn in comparison.batchnorm:
        lines += ["", f"BatchNormalization {bn.layer}: {bn.finding}", f"  {bn.message}"]
    for drift in comparison.drifts:
        lines += ["", f"Writer drift: {drift}"]
    return "\n".join(lines)


def _changed(layer: LayerDiff) -> bool:
    return layer.status != "unchanged" or layer.weights_status == "changed"


def _layer_lines(layer: LayerDiff) -> list[str]:
    ref = layer.b or layer.a
    assert ref is not None
    name = "/".join((*ref.path, ref.name))
    if layer.status == "renamed" and layer.a is not None:
        name = f"{'/'.join((*layer.a.path, layer.a.name))} → {name}"
    head = f"{layer.status:<10} {name} ({ref.class_name})"
    if layer.relative_change is not None and layer.weights_status == "changed":
        head += f"  weights changed, relative {number(layer.relative_change)}"
    lines = [head]
    lines += [f"    {c.key}: {c.a!r} → {c.b!r}" for c in layer.config]
    for w in layer.weights:
        if w.status == "shape-changed":
            lines.append(f"    {w.name}: shape {tuple(w.shape_a or ())} → {tuple(w.shape_b or ())}")
        elif w.status == "changed":
            lines.append(
                f"    {w.name}: max |b − a| {number(w.max_abs_change)}, "
                f"‖b − a‖/‖a‖ {number(w.relative_change)}"
            )
    return lines


def _signed(value: int) -> str:
    return f"+{count(value)}" if value > 0 else count(value)
