"""Keras operations by hand (`ops.Add`, `ops.Mean`, ...): a Functional config records them
when a model applies a `keras.ops` function or an operator to a tensor."""

from __future__ import annotations

from app.hand.rules import Facts, Hand, hand
from app.hand.rules import settings as line
from app.reference.operations import BINARY, OPS_PREFIX, REDUCTIONS, UNARY

SYMBOLS = {
    "Add": "a + b", "Subtract": "a − b", "Multiply": "a · b", "Divide": "a / b",
    "TrueDivide": "a / b", "Maximum": "maximum(a, b)", "Minimum": "minimum(a, b)",
    "Power": "a ** b", "Equal": "a == b", "NotEqual": "a ≠ b", "Greater": "a > b",
    "GreaterEqual": "a ≥ b", "Less": "a < b", "LessEqual": "a ≤ b",
    "LogicalAnd": "a and b", "LogicalOr": "a or b",
}  # fmt: skip
BROADCAST = "NumPy broadcasting; a constant operand keeps the tensor's dtype."


def op_name(facts: Facts) -> str:
    return facts.class_name.removeprefix(OPS_PREFIX)


@hand(*(OPS_PREFIX + name for name in BINARY))
def binary(facts: Facts) -> Hand:
    return Hand(settings=line(), formula=f"y = {SYMBOLS[op_name(facts)]}", conventions=(BROADCAST,))


@hand(*(OPS_PREFIX + name for name in UNARY))
def unary(facts: Facts) -> Hand:
    name = op_name(facts)
    if name == "Cast":
        dtype = (facts.get("call_kwargs", {}) or {}).get("dtype") or facts.get("dtype", "?")
        return Hand(settings=line(f"dtype {dtype}"), formula=f"y = x.astype({dtype})")
    return Hand(settings=line(), formula=f"y = {name.lower()}(x), element by element")


@hand(*(OPS_PREFIX + name for name in REDUCTIONS))
def reduction(facts: Facts) -> Hand:
    axis = facts.get("axis")
    keepdims = bool(facts.get("keepdims", False))
    over = "every axis" if axis is None else f"axis {axis}"
    return Hand(
        settings=line(
            f"axis {axis}" if axis is not None else None, "keepdims" if keepdims else None
        ),
        formula=f"y = {op_name(facts).lower()}(x) over {over}",
    )
