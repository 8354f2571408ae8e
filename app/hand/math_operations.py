"""Keras math and nn operations by hand (`ops.Sigmoid`, `ops.Matmul`, `ops.Var`, ...): a
Functional config records them when a model applies `keras.ops.sigmoid`, `a @ b`, ... to a
tensor."""

from __future__ import annotations

from app.hand.operations import BROADCAST, op_name
from app.hand.rules import Facts, Hand, axis_text, hand, number
from app.hand.rules import settings as line
from app.reference.math_operations import ELEMENTWISE, KEEPS_INTEGERS, STATISTICS
from app.reference.operations import OPS_PREFIX

FORMULAS = {
    "Relu": "max(x, 0)", "Sigmoid": "1 / (1 + exp(−x))", "Silu": "x · sigmoid(x)",
    "Tanh": "tanh(x)", "Erf": "erf(x) = 2/√π ∫₀ˣ exp(−t²) dt", "Rsqrt": "1 / √x",
    "Log1p": "log(1 + x)", "Sin": "sin(x)", "Cos": "cos(x)",
}  # fmt: skip
FLOAT_INPUT = "An integer input is cast to float32 first, as Keras does."


@hand(*(OPS_PREFIX + name for name in ELEMENTWISE))
def elementwise(facts: Facts) -> Hand:
    return Hand(
        settings=line(),
        formula=f"y = {FORMULAS[op_name(facts)]}, element by element",
        conventions=() if op_name(facts) in KEEPS_INTEGERS else (FLOAT_INPUT,),
    )


@hand(OPS_PREFIX + "Softmax")
def softmax(facts: Facts) -> Hand:
    axis = facts.get("axis", -1)
    over = "every axis at once" if axis is None else f"axis {axis_text(axis)}"
    return Hand(
        settings=line(f"axis {axis_text(axis)}" if axis is not None else "axis None"),
        formula=f"y = exp(x − max x) / Σ exp(x − max x) over {over}",
    )


@hand(OPS_PREFIX + "Gelu")
def gelu(facts: Facts) -> Hand:
    if bool(facts.get("approximate", True)):
        return Hand(
            settings=line("approximate"),
            formula="y = x · (1 + tanh(√(2/π) · (x + 0.044715 · x³))) / 2",
            conventions=('`ops.gelu` is approximate by default (`activation="gelu"` is not).',),
        )
    return Hand(settings=line("exact"), formula="y = x · (1 + erf(x / √2)) / 2")


@hand(OPS_PREFIX + "Clip")
def clip(facts: Facts) -> Hand:
    low, high = number(facts.get("x_min")), number(facts.get("x_max"))
    return Hand(
        settings=line(f"x_min {low}", f"x_max {high}"), formula=f"y = min(max(x, {low}), {high})"
    )


@hand(OPS_PREFIX + "Where")
def where(facts: Facts) -> Hand:
    return Hand(
        settings=line(),
        formula="y = x1 where condition, else x2",
        conventions=(BROADCAST,),
    )


@hand(OPS_PREFIX + "Matmul")
def matmul(facts: Facts) -> Hand:
    return Hand(
        settings=line(),
        formula="y[…, i, k] = Σ_j a[…, i, j] · b[…, j, k]",
        conventions=("NumPy's matmul: leading axes broadcast; a 1-D operand is a vector.",),
    )


@hand(OPS_PREFIX + "Einsum")
def einsum(facts: Facts) -> Hand:
    subscripts = str(facts.get("subscripts", "?"))
    return Hand(
        settings=line(f"subscripts {subscripts}"),
        formula=f"y = einsum({subscripts!r}, …): products over shared letters, summed over "
        "the letters the output leaves out",
    )


STATISTIC_FORMULAS = {
    "Var": "mean((x − mean x)²)", "Std": "√mean((x − mean x)²)",
    "Argmax": "index of max(x)", "Argmin": "index of min(x)",
}  # fmt: skip


@hand(*(OPS_PREFIX + name for name in STATISTICS))
def statistic(facts: Facts) -> Hand:
    name = op_name(facts)
    axis = facts.get("axis")
    over = "every axis" if axis is None else f"axis {axis_text(axis)}"
    keep = "keepdims" if facts.get("keepdims", False) else None
    order = facts.get("ord")
    if name == "Norm":
        return Hand(
            settings=line(
                f"ord {order}" if order is not None else None,
                f"axis {axis_text(axis)}" if axis is not None else None,
                keep,
            ),
            formula=f"y = {_norm_formula(order, facts)} over {over}",
        )
    return Hand(
        settings=line(f"axis {axis_text(axis)}" if axis is not None else None, keep),
        formula=f"y = {STATISTIC_FORMULAS[name]} over {over}",
        conventions=("int32 indices; the first one on a tie.",) if name.startswith("Arg") else (),
    )


@hand(OPS_PREFIX + "Cumsum")
def cumsum(facts: Facts) -> Hand:
    axis = facts.get("axis")
    return Hand(
        settings=line(f"axis {axis}" if axis is not None else "axis None (flattened)"),
        formula="y[i] = x[0] + x[1] + … + x[i]"
        + (f" along axis {axis}" if axis is not None else ", x flattened"),
    )


def _norm_formula(order, facts: Facts) -> str:
    """A vector norm over one axis, a matrix norm over two (`axis` None: every axis)."""
    axis = facts.get("axis")
    rank = len(facts.input_shape) if axis is None and facts.input_shapes else None
    count = rank if axis is None else (1 if isinstance(axis, int) else len(axis))
    kind = "matrix" if count == 2 else "vector"
    if order is None:
        return "√Σ x² (" + ("Frobenius" if kind == "matrix" else "order 2") + ")"
    return f"the {kind} norm of order {order}"
