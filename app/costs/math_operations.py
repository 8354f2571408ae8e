"""Costs of Keras math and nn operations (`ops.Sigmoid`, `ops.Matmul`, `ops.Var`, ...):
one FLOP per element for the element-wise ones, MACs for the contractions (Matmul, Einsum),
per-element steps for the statistics."""

from __future__ import annotations

import math

import numpy as np

from app.costs.rules import Cost, cost, dims, elementwise, size

cost(
    *(
        f"ops.{name}"
        for name in "Relu Sigmoid Silu Tanh Erf Rsqrt Log1p Sin Cos Softmax Gelu".split()
    )
)(elementwise("activation"))
cost("ops.Clip")(elementwise("comparisons", per_element=2))
cost("ops.Where")(elementwise("selections"))


def _operand_shapes(config, inputs) -> list:
    """Every positional operand's shape, a constant's included: the forward's own reading of
    the call (`operands`) on zero-size views of the input shapes."""
    from app.reference.operations import operands

    views = [np.broadcast_to(np.float32(0), shape) for shape in inputs]
    return [np.shape(value) for value in operands(config, views)]


@cost("ops.Matmul")
def matmul(config, inputs, outputs) -> Cost:
    """Each output element sums the products along a's last axis."""
    a = _operand_shapes(config, inputs)[0]
    length, out = a[-1], outputs[0]
    return Cost(size(out) * length, f"{dims(out[1:])} outputs × {length}")


@cost("ops.Einsum")
def einsum(config, inputs, outputs) -> Cost:
    """Each output element sums the products over the letters the output leaves out (a
    product of one operand alone is a sum of its elements)."""
    shapes = _operand_shapes(config, inputs)
    spec = str(config["subscripts"]).replace(" ", "")
    terms, arrow, output = spec.partition("->")
    letters: dict[str, int] = {}
    for term, shape in zip(terms.split(","), shapes, strict=False):
        head, _, tail = term.partition("...")
        placed = [*zip(head, shape, strict=False)]
        placed += zip(reversed(tail), reversed(shape), strict=False) if tail else []
        for letter, dim in placed:
            letters[letter] = max(letters.get(letter, 1), dim)
    if not arrow:
        output = "".join(c for c in letters if terms.count(c) == 1)
    summed = math.prod(dim for letter, dim in letters.items() if letter not in output)
    out = outputs[0]
    if len(shapes) == 1:
        return Cost(other=((size(shapes[0]), "additions"),))
    return Cost(size(out) * summed, f"{dims(out[1:])} outputs × {summed}")


@cost("ops.Var", "ops.Std")
def statistics(config, inputs, outputs) -> Cost:
    """Per input element: the mean (an add), then a subtraction, a square and an add; two
    divisions per output (and Std's square root, not counted apart)."""
    n, out = size(inputs[0]), size(outputs[0])
    return Cost(other=((4 * n, "mean and squared deviations"), (2 * out, "divisions")))


def _visits(what: str):
    def rule(config, inputs, outputs) -> Cost:
        """One step per input element."""
        return Cost(other=((size(inputs[0]), what),))

    return rule


cost("ops.Argmax", "ops.Argmin")(_visits("comparisons"))
cost("ops.Cumsum")(_visits("additions"))


@cost("ops.Norm")
def norm(config, inputs, outputs) -> Cost:
    """Per input element a power (or |x|) and an add; a root per output."""
    return Cost(other=((2 * size(inputs[0]), "powers and additions"), (size(outputs[0]), "roots")))
