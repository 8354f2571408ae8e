"""Activation layers by hand: Activation, ReLU, LeakyReLU, ELU, Softmax, PReLU,
ThresholdedReLU."""

from __future__ import annotations

from app.hand.rules import Facts, Hand, activation_name, applied, axis_text, hand, number
from app.hand.rules import settings as line

HARD_SIGMOID = "Keras 3's hard_sigmoid is relu6(x + 3) / 6 (Keras 2's was clip(0.2·x + 0.5, 0, 1))."
SOFTMAX = "softmax(x) = exp(x − max(x)) / sum(exp(x − max(x))) over the axis."


def activation_conventions(activation: str) -> tuple[str, ...]:
    """The sentences an activation needs where it is easy to get wrong."""
    if activation in ("hard_sigmoid", "hard_silu", "hard_swish"):
        return (HARD_SIGMOID,)
    if activation == "softmax":
        return (SOFTMAX + " (the last axis)",)
    if activation == "gelu":
        return ("gelu is the exact erf form unless the config says approximate.",)
    return ()


@hand("Activation")
def activation(facts: Facts) -> Hand:
    name = activation_name(facts.get("activation"))
    return Hand(
        settings=line(name),
        formula=f"y = {applied(name, 'x')}",
        conventions=activation_conventions(name),
    )


@hand("ReLU")
def relu(facts: Facts) -> Hand:
    slope = number(facts.get("negative_slope", 0.0))
    threshold = number(facts.get("threshold", 0.0))
    top = facts.get("max_value")
    below = "0" if slope == "0" else f"{slope} · (x − {threshold})"
    above = "x" if top is None else f"min(x, {number(top)})"
    return Hand(
        settings=line(
            f"max_value {number(top)}" if top is not None else None,
            f"negative_slope {slope}" if slope != "0" else None,
            f"threshold {threshold}" if threshold != "0" else None,
        ),
        formula=f"y = {above} if x > {threshold} else {below}",
    )


@hand("ThresholdedReLU")
def thresholded_relu(facts: Facts) -> Hand:
    theta = number(facts.get("theta", 1.0))
    return Hand(
        settings=line(f"theta {theta}"),
        formula=f"y = x if x > {theta} else 0",
        conventions=(
            f"An input of exactly {theta} gives 0 (Keras 2's ThresholdedReLU; Keras 3 has none).",
        ),
    )


@hand("LeakyReLU")
def leaky_relu(facts: Facts) -> Hand:
    slope = number(facts.get("negative_slope", facts.get("alpha", 0.3)))
    return Hand(
        settings=line(f"negative_slope {slope}"),
        formula=f"y = x if x ≥ 0 else {slope} · x",
        conventions=("Keras 2 called negative_slope alpha (default 0.3).",),
    )


@hand("ELU")
def elu(facts: Facts) -> Hand:
    alpha = number(facts.get("alpha", 1.0))
    return Hand(
        settings=line(f"alpha {alpha}"), formula=f"y = x if x > 0 else {alpha} · (exp(x) − 1)"
    )


@hand("Softmax")
def softmax(facts: Facts) -> Hand:
    axis = axis_text(facts.get("axis", -1))
    return Hand(
        settings=line(f"axis {axis}"),
        formula=f"y = exp(x − max(x)) / sum(exp(x − max(x))), over axis {axis}",
        conventions=("A mask passed to the layer sets masked positions to −1e9 first.",),
    )


@hand("PReLU")
def prelu(facts: Facts) -> Hand:
    shared = facts.get("shared_axes")
    return Hand(
        settings=line(f"shared_axes {shared}" if shared else None),
        formula="y = x if x ≥ 0 else alpha · x",
        conventions=("alpha has the input's shape without the batch axis (1 on shared axes).",),
    )
