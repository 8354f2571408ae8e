"""Merging layers by hand: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate,
Dot, and Inception-ResNet-v2's CustomScaleLayer."""

from __future__ import annotations

from app.hand.rules import Facts, Hand, axis_text, hand, number
from app.hand.rules import settings as line

BROADCAST = "The inputs must have the same shape (a size-1 axis broadcasts)."
ELEMENTWISE = {
    "Add": "y = x₁ + x₂ + … + xₙ",
    "Subtract": "y = x₁ − x₂",
    "Multiply": "y = x₁ · x₂ · … · xₙ, element by element",
    "Average": "y = (x₁ + x₂ + … + xₙ) / n",
    "Maximum": "y = max(x₁, x₂, …, xₙ), element by element",
    "Minimum": "y = min(x₁, x₂, …, xₙ), element by element",
}


@hand(*ELEMENTWISE)
def elementwise(facts: Facts) -> Hand:
    inputs = len(facts.input_shapes)
    formula = ELEMENTWISE[facts.class_name]
    if inputs:
        formula += f" (n = {inputs})" if "xₙ" in formula else ""
    return Hand(settings=line(), formula=formula, conventions=(BROADCAST,))


@hand("Concatenate")
def concatenate(facts: Facts) -> Hand:
    axis = axis_text(facts.get("axis", -1))
    return Hand(
        settings=line(f"axis {axis}"),
        formula=f"y = concatenate([x₁, …, xₙ], axis={axis})",
        conventions=("The inputs' values follow one another in the order of the call's list.",),
    )


@hand("Dot")
def dot(facts: Facts) -> Hand:
    axes = facts.get("axes", -1)
    normalize = bool(facts.get("normalize", False))
    core = f"Σ x₁ · x₂ over axes {axes}, per sample"
    return Hand(
        settings=line(f"axes {axes}", "normalize" if normalize else None),
        formula=f"y = {core}"
        + (" (each input first divided by its L2 norm: cosine)" if normalize else ""),
    )


@hand("CustomScaleLayer")
def custom_scale(facts: Facts) -> Hand:
    scale = number(facts.get("scale", 1.0))
    return Hand(settings=line(f"scale {scale}"), formula=f"y = x₁ + x₂ · {scale}")
