"""Keras math and nn operations recorded in a Functional config (`ops.Sigmoid`, `ops.Matmul`,
`ops.Var`, ...), read as `app.layers.operations` reads `ops.Add`: no weights, the operands in
`config["call_args"]`, the operation's own settings in its config.

Element-wise ones keep their operand's shape; Where broadcasts its three operands; Matmul
and Einsum contract; Var, Std, Argmax, Argmin and Norm drop (or keep, `keepdims`) their
`axis`; Cumsum keeps its operand's shape (flattens it when `axis` is None).
"""

from __future__ import annotations

import math
from typing import Any

from app.graph import Shape
from app.layers.fields import BOOL, NUMBER, TEXT, VOCABULARY, Field, optional
from app.layers.operations import (
    broadcast,
    elementwise_output,
    operand_shapes,
    reduction_output,
)
from app.layers.registry import Config, register
from app.reference.math_operations import ELEMENTWISE, STATISTICS
from app.reference.operations import OPS_PREFIX

FAMILY = "operations"
NN_MODULE = "keras.src.ops.nn"
MATH_MODULE = "keras.src.ops.math"
LINALG_MODULE = "keras.src.ops.linalg"
NUMPY_MODULE = "keras.src.ops.numpy"
# Where Keras keeps each operation of this file: keras.src.ops.numpy, but for these.
MODULES = {
    **dict.fromkeys(("Relu", "Sigmoid", "Silu", "Gelu", "Softmax"), NN_MODULE),
    **dict.fromkeys(("Erf", "Rsqrt"), MATH_MODULE),
    "Norm": LINALG_MODULE,
}


def _order(value: Any) -> Any:
    if value in ("fro", "nuc"):
        return value
    return NUMBER.read(value)


NORM_ORDER = Field('a number, "fro" or "nuc"', _order)  # `ops.norm`'s `ord`
# Every key ops.Norm writes besides its name (`axis` and `keepdims` in their common meaning),
# so that its legacy `.h5` config is told from a layer's by its keys alone.
NORM_FIELDS = {"ord": optional(NORM_ORDER), "axis": VOCABULARY["axis"], "keepdims": BOOL}


def _register(name: str, summary: str, fields: dict[str, Field] | None = None):
    return register(
        OPS_PREFIX + name,
        family=FAMILY,
        summary=summary,
        modules=(MODULES.get(name, NUMPY_MODULE),),
        fields=fields,
    )


for _name in ELEMENTWISE:
    _register(_name, f"The operation {_name.lower()} on a tensor, element by element.")(
        elementwise_output
    )
_register("Softmax", "softmax along `axis` (no weights).")(elementwise_output)
_register("Gelu", "gelu, `approximate` (tanh form) by default.", {"approximate": BOOL})(
    elementwise_output
)
_register("Clip", "x limited to [x_min, x_max].", {"x_min": NUMBER, "x_max": NUMBER})(
    elementwise_output
)


@_register("Where", "x1 where condition, else x2 (the three broadcast).")
def where_output(config: Config, input_shapes: list) -> Shape:
    if len(operand_shapes(config, input_shapes)) != 3:
        raise ValueError("ops.where takes a condition, x1 and x2")
    return elementwise_output(config, input_shapes)


@_register("Matmul", "The matrix product a @ b (NumPy's matmul).")
def matmul_output(config: Config, input_shapes: list) -> Shape:
    a, b = operand_shapes(config, input_shapes)[:2]
    if not a or not b:
        raise ValueError("matmul takes no scalar")
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    shape = (*broadcast([a2[:-2], b2[:-2]]), a2[-2], b2[-1])
    if len(a) == 1:
        shape = shape[:-2] + shape[-1:]
    if len(b) == 1:
        shape = shape[:-1]
    return shape


@_register("Einsum", "The Einstein sum of its operands over `subscripts`.", {"subscripts": TEXT})
def einsum_output(config: Config, input_shapes: list) -> Shape:
    return einsum_shape(str(config["subscripts"]), operand_shapes(config, input_shapes))


def einsum_shape(subscripts: str, shapes: list[Shape]) -> Shape:
    """The output shape of `np.einsum(subscripts, ...)`: the sizes of the output's letters
    (without `->`, the letters met once, in alphabetical order), `...` broadcast."""
    spec = subscripts.replace(" ", "")
    inputs, arrow, output = spec.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"{subscripts!r} names {len(terms)} operands, not {len(shapes)}")
    sizes: dict[str, list] = {}
    ellipses = []
    for term, shape in zip(terms, shapes, strict=True):
        letters = term.replace("...", "")
        extra = len(shape) - len(letters)
        if extra < 0 or (extra and "..." not in term):
            raise ValueError(f"{term!r} does not match a shape of rank {len(shape)}")
        before = term.split("...")[0] if "..." in term else term
        for i, letter in enumerate(before):
            sizes.setdefault(letter, []).append(shape[i])
        if "..." in term:
            ellipses.append(shape[len(before) : len(before) + extra])
            after = term.split("...")[1]
            for i, letter in enumerate(after):
                sizes.setdefault(letter, []).append(shape[len(before) + extra + i])
    if not arrow:
        counts = {letter: inputs.count(letter) for letter in sizes}
        output = ("..." if ellipses else "") + "".join(
            sorted(c for c, n in counts.items() if n == 1)
        )
    ellipsis = broadcast(ellipses) if ellipses else ()
    head, dots, tail = output.partition("...")
    return (
        *(_size(sizes[c]) for c in head),
        *(ellipsis if dots else ()),
        *(_size(sizes[c]) for c in tail),
    )


def _size(dims: list) -> Any:
    known = {d for d in dims if d is not None and d != 1}
    if len(known) > 1:
        raise ValueError(f"sizes {dims} of one einsum letter differ")
    if known:
        return known.pop()
    return None if None in dims else 1


_STATISTIC_SUMMARIES = {
    "Var": "The variance over `axis`.",
    "Std": "The standard deviation over `axis`.",
    "Argmax": "The index of the largest value along `axis` (int32).",
    "Argmin": "The index of the smallest value along `axis` (int32).",
    "Norm": "The vector (one axis) or matrix (two) norm of order `ord` over `axis`.",
}
for _name in STATISTICS:
    _register(
        _name,
        _STATISTIC_SUMMARIES[_name],
        NORM_FIELDS if _name == "Norm" else None,
    )(reduction_output)


@_register("Cumsum", "The running sum along `axis` (flattened when None).")
def cumsum_output(config: Config, input_shapes: list) -> Shape:
    shape = operand_shapes(config, input_shapes)[0]
    if config.get("axis") is None:
        return (None if None in shape else math.prod(shape),)
    return shape
