"""Keras operations recorded in a Functional config: tensor arithmetic, not layers.

`x * 0.5 + 3.0` on a Keras tensor, or the masks Embedding(mask_zero) and Masking compute, are
saved as nodes of module `keras.src.ops.numpy` (Keras 3 `.h5` files write no module, and a
config of `{"name"}` alone, where a layer's always holds `trainable` and `dtype`). They are
not in `model.layers` and have no weights. The readers give them the class name
`ops.<Class>` (`ops.Add`), so that they never pass for the layer of the same name, and keep
each call's positional arguments in `config["call_args"]` (a tensor as `{"tensor": i}`, a
constant as itself) and its keywords in `config["call_kwargs"]`.

Shapes broadcast as NumPy does (aligned on the right, a 1 takes the other size, an unknown
size stays unknown); reductions drop (or keep, `keepdims`) their `axis`.
"""

from __future__ import annotations

from typing import Any

from app.graph import Shape
from app.layers.fields import field_of
from app.layers.registry import PLAIN, Config, LayerType, Traits, lookup, register
from app.reference.operations import ARRAY_MARKERS, BINARY, OPS_PREFIX, REDUCTIONS, UNARY

FAMILY = "operations"
OPERATION_MODULE = "keras.src.ops."
# Where Keras keeps each operation: keras.src.ops.numpy, but for these.
MODULES = {"Cast": "keras.src.ops.core"}
NUMPY_MODULE = "keras.src.ops.numpy"


def operation_module(name: str) -> str:
    """The module Keras writes for the operation `ops.<name>`: its entry's when registered
    (keras.src.ops.nn, math, linalg: `app.layers.math_operations`), else numpy's."""
    bare = name.removeprefix(OPS_PREFIX)
    entry = lookup(OPS_PREFIX + bare)
    return entry.modules[0] if entry is not None else MODULES.get(bare, NUMPY_MODULE)


def operation_name(class_name: str, module: Any, config: Any) -> str | None:
    """`ops.<Class>` when a config entry records a Keras operation, else None."""
    if isinstance(module, str):
        return OPS_PREFIX + class_name if module.startswith(OPERATION_MODULE) else None
    # A layer's config always holds `trainable` and a `dtype` policy; an operation's holds
    # neither, but for its own `dtype` argument, null by default (`ops.cumsum`).
    legacy = isinstance(config, dict) and not {"trainable", "dtype"} & {
        key for key, value in config.items() if value is not None or key != "dtype"
    }
    entry = lookup(OPS_PREFIX + class_name)
    return OPS_PREFIX + class_name if legacy and entry and _wrote(entry, config) else None


def _wrote(entry: LayerType, config: dict) -> bool:
    """Whether the operation, not a layer of its name, wrote a legacy config. An operation
    that declares its keys (ops.Reshape's `newshape`) writes no other, so a Reshape layer's
    hand-written config without `dtype` (`target_shape`) stays a layer; and a config the
    layer of that name could have written too (Concatenate's `axis`) is that layer, as Keras'
    own `.h5` loader reads it (both compute the same)."""
    keys = set(config) - {"name"}
    if not entry.fields:
        return True
    if not keys <= set(entry.fields):
        return False
    layer = lookup(entry.class_name.removeprefix(OPS_PREFIX))
    return layer is None or any(field_of(key, layer.fields) is None for key in keys)


def operand_shapes(config: Config, input_shapes: list) -> list[Shape]:
    """The shape of every positional operand: a tensor's, or () for a constant."""
    tensors = [tuple(s) for s in input_shapes]
    shapes = []
    for arg in config.get("call_args") or [{"tensor": i} for i in range(len(tensors))]:
        shapes.append(tensors[arg["tensor"]] if _is_tensor(arg) else _constant_shape(arg))
    return shapes


def _is_tensor(arg: Any) -> bool:
    return isinstance(arg, dict) and set(arg) == {"tensor"}


def _constant_shape(value: Any) -> Shape:
    """A constant's shape: a number's (), a list's, or a recorded array's (`__tensor__`)."""
    if isinstance(value, dict) and value.get("class_name") in ARRAY_MARKERS:
        inner = value.get("config")
        value = inner.get("value") if isinstance(inner, dict) else None
    shape: list[int] = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return tuple(shape)


def broadcast(shapes: list[Shape]) -> Shape:
    """NumPy broadcasting of shapes with unknown (None) sizes."""
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    return tuple(_broadcast_dim([s[axis] for s in padded]) for axis in range(rank))


def _broadcast_dim(dims: list[int | None]) -> int | None:
    known = {d for d in dims if d is not None and d != 1}
    if len(known) > 1:
        raise ValueError(f"sizes {dims} do not broadcast")
    if known:
        return known.pop()
    return None if None in dims else 1


def elementwise_output(config: Config, input_shapes: list) -> Shape:
    return broadcast(operand_shapes(config, input_shapes))


def reduction_output(config: Config, input_shapes: list) -> Shape:
    shape = operand_shapes(config, input_shapes)[0]
    axes = reduced_axes(config, len(shape))
    keep = bool(config.get("keepdims", False))
    return tuple(
        (1 if keep else None) if axis in axes else dim
        for axis, dim in enumerate(shape)
        if keep or axis not in axes
    )


def reduced_axes(config: Config, rank: int) -> set[int]:
    """The axes a reduction takes (all of them when `axis` is None), non-negative."""
    axis = config.get("axis")
    if axis is None:
        return set(range(rank))
    axes = axis if isinstance(axis, list | tuple) else [axis]
    return {int(a) % rank for a in axes}


# Keras 3 records Embedding's and Masking's masks with these (see `Traits.records_mask`).
TRAITS = {"NotEqual": Traits(records_mask=True), "Any": Traits(records_mask=True)}

for _name in (*BINARY, *UNARY):
    register(
        OPS_PREFIX + _name,
        family=FAMILY,
        summary=f"The operation {_name.lower()} on tensors (no weights).",
        traits=TRAITS.get(_name, PLAIN),
        modules=(operation_module(_name),),
    )(elementwise_output)

for _name in REDUCTIONS:
    register(
        OPS_PREFIX + _name,
        family=FAMILY,
        summary=f"The reduction {_name.lower()} over `axis` (no weights).",
        traits=TRAITS.get(_name, PLAIN),
        modules=(operation_module(_name),),
    )(reduction_output)
