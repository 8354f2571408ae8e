"""Normalization layers by hand: BatchNormalization, LayerNormalization, GroupNormalization,
UnitNormalization, RMSNormalization, LayerScale."""

from __future__ import annotations

from app.hand.rules import Facts, Hand, axis_text, hand, number
from app.hand.rules import settings as line


def scaled(facts: Facts, core: str, gamma: str = "gamma", beta: str = "beta") -> str:
    """`gamma · core + beta`, leaving out what the layer does not have (scale/center False)."""
    text = f"{gamma} · {core}" if facts.has(gamma) else core
    return f"{text} + {beta}" if facts.has(beta) else text


def channels(facts: Facts, axis: object) -> str:
    """`the 2 channels along axis 1`, with the count when the input shape gives it."""
    shape = facts.input_shape
    if isinstance(axis, int) and shape and -len(shape) <= axis < len(shape):
        size = shape[axis]
        if size is not None:
            return f"the {size:,} channels along axis {axis}"
    return f"the channels along axis {axis_text(axis)}"


@hand("BatchNormalization")
def batch_normalization(facts: Facts) -> Hand:
    axis = facts.get("axis", -1)
    if isinstance(axis, list) and len(axis) == 1:
        axis = axis[0]
    epsilon = number(facts.get("epsilon", 1e-3))
    core = f"(x − moving_mean) / √(moving_variance + {epsilon})"
    return Hand(
        settings=line(
            f"axis {axis_text(axis)}",
            f"epsilon {epsilon}",
            None if facts.has("gamma") else "no gamma (scale False)",
            None if facts.has("beta") else "no beta (center False)",
        ),
        formula=f"y = {scaled(facts, core)}",
        conventions=(
            "One gamma, beta, moving_mean and moving_variance per channel: "
            f"{channels(facts, axis)}, broadcast over every other axis.",
            "moving_variance is a variance: the square root is taken in the formula, after "
            "adding epsilon.",
            "That is inference (predict); with training=True the batch's own mean and variance "
            "replace moving_mean and moving_variance.",
        ),
    )


@hand("LayerNormalization")
def layer_normalization(facts: Facts) -> Hand:
    axis = axis_text(facts.get("axis", -1))
    epsilon = number(facts.get("epsilon", 1e-3))
    if facts.get("rms_scaling", False):
        formula = f"y = gamma · x / √(mean(x²) + {epsilon})"
    else:
        formula = f"y = {scaled(facts, f'(x − mean(x)) / √(var(x) + {epsilon})')}"
    return Hand(
        settings=line(
            f"axis {axis}",
            f"epsilon {epsilon}",
            "rms_scaling" if facts.get("rms_scaling") else None,
        ),
        formula=formula,
        conventions=(
            f"mean and var are taken per sample over axis {axis} (not over the batch); "
            "var is the biased variance (divided by n).",
        ),
    )


@hand("GroupNormalization")
def group_normalization(facts: Facts) -> Hand:
    groups = facts.get("groups", 32)
    epsilon = number(facts.get("epsilon", 1e-3))
    axis = axis_text(facts.get("axis", -1))
    return Hand(
        settings=line(f"groups {groups}", f"axis {axis}", f"epsilon {epsilon}"),
        formula=f"y = {scaled(facts, f'(x − mean_g(x)) / √(var_g(x) + {epsilon})')}",
        conventions=(
            f"The channels along axis {axis} are split into {groups} consecutive groups; "
            "mean_g and var_g are taken per sample over each group's channels and every "
            "spatial position.",
        ),
    )


@hand("UnitNormalization")
def unit_normalization(facts: Facts) -> Hand:
    axis = axis_text(facts.get("axis", -1))
    return Hand(
        settings=line(f"axis {axis}"),
        formula=f"y = x / max(√(Σ x² over axis {axis}), 1e-12)",
    )


@hand("RMSNormalization")
def rms_normalization(facts: Facts) -> Hand:
    axis = axis_text(facts.get("axis", -1))
    epsilon = number(facts.get("epsilon", 1e-6))
    return Hand(
        settings=line(f"axis {axis}", f"epsilon {epsilon}"),
        formula=f"y = x / √(mean(x² over axis {axis}) + {epsilon}) · scale",
    )


@hand("LayerScale")
def layer_scale(facts: Facts) -> Hand:
    return Hand(
        settings=line(f"projection_dim {facts.get('projection_dim', '?')}"),
        formula="y = x · gamma, gamma broadcast over the last axis",
    )
