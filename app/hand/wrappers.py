"""Wrappers by hand: Bidirectional, TimeDistributed and SpectralNormalization, around the hand
of the layer they wrap."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.hand.rules import HANDS, Facts, Hand, hand
from app.hand.rules import settings as line


def inner_hand(facts: Facts, entry: Mapping[str, Any], input_shape: tuple | None) -> Hand | None:
    """The hand of the wrapped layer `entry` (`{"class_name", "config"}`), if it has one."""
    class_name = str(entry.get("class_name"))
    rule = HANDS.get(class_name)
    if rule is None:
        return None
    inner = Facts(
        class_name=class_name,
        config=entry.get("config") or {},
        input_shapes=[input_shape] if input_shape else [],
        weights=facts.weights,
    )
    return rule(inner)


def direction_weights(facts: Facts, prefix: str) -> str:
    names = [name for name, _, _ in facts.weights if name.startswith(prefix + "_")]
    return ", ".join(names) if names else "none"


@hand("Bidirectional")
def bidirectional(facts: Facts) -> Hand:
    entry = facts.get("layer", {})
    wrapped = str(entry.get("class_name", "?"))
    step = inner_hand(facts, entry, facts.input_shape or None)
    mode = facts.get("merge_mode", "concat")
    merged = {
        "concat": "concat([y_forward, y_backward], axis −1)",
        "sum": "y_forward + y_backward",
        "mul": "y_forward · y_backward",
        "ave": "(y_forward + y_backward) / 2",
    }.get(mode, "[y_forward, y_backward]")
    return Hand(
        settings=line(f"layer {wrapped}", f"merge_mode {mode}", step.settings if step else None),
        formula=(
            f"y_forward = {wrapped}(x) with the forward weights; y_backward = {wrapped}(x read "
            f"from the last timestep to the first) with the backward weights; y = {merged}"
            + (f". Each direction: {step.formula}" if step else "")
        ),
        conventions=(
            f"Forward direction weights: {direction_weights(facts, 'forward')}.",
            f"Backward direction weights: {direction_weights(facts, 'backward')}.",
            "get_weights() lists the forward layer's weights first, then the backward's.",
            "With return_sequences the backward outputs are reversed back, so y[:, t] pairs "
            "both directions at timestep t.",
            *(step.conventions if step else ()),
        ),
    )


@hand("TimeDistributed")
def time_distributed(facts: Facts) -> Hand:
    entry = facts.get("layer", {})
    wrapped = str(entry.get("class_name", "?"))
    shape = facts.input_shape
    step = inner_hand(facts, entry, (shape[0], *shape[2:]) if len(shape) > 2 else None)
    return Hand(
        settings=line(f"layer {wrapped}", step.settings if step else None),
        formula=f"y[:, t] = {wrapped}(x[:, t]) for every timestep t, with the same weights"
        + (f"; {wrapped}: {step.formula}" if step else ""),
        conventions=step.conventions if step else (),
    )


@hand("SpectralNormalization")
def spectral_normalization(facts: Facts) -> Hand:
    entry = facts.get("layer", {})
    wrapped = str(entry.get("class_name", "?"))
    shape = facts.input_shape
    inner = inner_hand(facts, entry, tuple(shape) if shape else None)
    return Hand(
        settings=line(
            f"layer {wrapped}",
            f"power_iterations {facts.get('power_iterations', 1)}",
            inner.settings if inner else None,
        ),
        formula=f"y = {wrapped}(x)" + (f"; {wrapped}: {inner.formula}" if inner else ""),
        conventions=(
            "At inference the kernel is used as stored; training divides it by its largest "
            "singular value first (power iteration on vector_u), and stores both.",
            *(inner.conventions if inner else ()),
        ),
    )
