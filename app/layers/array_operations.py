"""Keras operations that move array elements (`x[:, 0]`, `ops.reshape`, `ops.transpose`,
`ops.concatenate`, ...): entries with their output shapes, worked out as Keras'
`compute_output_spec` does, an unknown size (the batch) staying unknown.

Keras keeps them all in `keras.src.ops.numpy`. Their settings are in the config, their call's
arguments in `config["call_args"]` (see `app.reference.array_operations`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.errors import UnsupportedModel
from app.graph import Shape
from app.layers.fields import AMOUNTS, AXES, PADDING_AMOUNTS, TEXT, Field, optional
from app.layers.operations import NUMPY_MODULE, operand_shapes
from app.layers.registry import Config, register
from app.reference.array_operations import index_key
from app.reference.operations import ARRAY_MARKERS, OPS_PREFIX

FAMILY = "operations"


# The config keys these classes write that the shared vocabulary lacks or reads otherwise
# (Transpose's `axes` may be null). A class that declares keys declares every key it writes
# besides `name`: a legacy `.h5` config holding another is a layer's (`operation_name`).
FIELDS: dict[str, dict[str, Field]] = {
    "Reshape": {"newshape": AXES},
    "Concatenate": {"axis": AXES},
    "Transpose": {"axes": optional(AXES)},
    "Tile": {"repeats": AMOUNTS},
    "Repeat": {"repeats": AMOUNTS, "axis": optional(AXES)},
    "Pad": {"pad_width": PADDING_AMOUNTS, "mode": TEXT},  # the forward reads the mode
    "Split": {"indices_or_sections": AMOUNTS, "axis": AXES},
}


def _entry(name: str, summary: str):
    return register(
        OPS_PREFIX + name,
        family=FAMILY,
        summary=summary,
        modules=(NUMPY_MODULE,),
        fields=FIELDS.get(name),
    )


def _axes(value: Any, rank: int) -> list[int]:
    values = value if isinstance(value, list | tuple) else [value]
    return [int(a) % rank for a in values]


def _tensor_shapes(config: Config, input_shapes: list) -> list[Shape]:
    """The shapes of the tensors a list argument holds (Concatenate's, Stack's), in order."""
    return [tuple(shape) for shape in input_shapes]


@_entry("GetItem", "x[key]: an index, slices, newaxis or Ellipsis (no weights).")
def get_item_output(config: Config, input_shapes: list) -> Shape:
    """Keras' GetItem.compute_output_spec: an int drops its axis, a slice keeps its length,
    None adds a 1, Ellipsis stands for the axes the rest of the key does not name."""
    shape = list(operand_shapes(config, input_shapes)[0])
    try:
        key = index_key((config.get("call_args") or [None, []])[1])
    except UnsupportedModel as exc:  # a tensor index: the shape is not worked out
        raise ValueError(str(exc)) from exc
    items = list(key) if isinstance(key, tuple) else [key]
    if items.count(Ellipsis) > 1:
        raise ValueError("a key holds one Ellipsis at most")
    if Ellipsis not in items:
        items.append(Ellipsis)
    out: list[int | None] = []
    for position, item in enumerate(items):
        if item is Ellipsis:
            named = sum(1 for rest in items[position + 1 :] if rest is not None)
            out += shape[: len(shape) - named]
            shape = shape[len(shape) - named :]
        elif item is None:
            out.append(1)
        else:
            out += _indexed(item, shape.pop(0))
    return tuple(out)


def _indexed(item: int | slice, length: int | None) -> list[int | None]:
    if isinstance(item, slice):
        return [None if length is None else len(range(*item.indices(length)))]
    if length is not None and not -length <= item < length:
        raise ValueError(f"index {item} is out of range for a size of {length}")
    return []


@_entry("Reshape", "reshape(x, newshape), the batch axis included (no weights).")
def reshape_output(config: Config, input_shapes: list) -> Shape:
    shape = operand_shapes(config, input_shapes)[0]
    newshape = np.atleast_1d(config["newshape"]).tolist()
    if -1 not in newshape:
        return tuple(newshape)
    known = 1
    for d in newshape:
        known *= d if d != -1 else 1
    if None in shape:
        return tuple(None if d == -1 else d for d in newshape)
    total = 1
    for d in shape:
        total *= d
    return tuple(total // known if d == -1 else d for d in newshape)


@_entry("Transpose", "transpose(x, axes): the axes in a new order (no weights).")
def transpose_output(config: Config, input_shapes: list) -> Shape:
    shape = operand_shapes(config, input_shapes)[0]
    axes = config.get("axes")
    order = _axes(axes, len(shape)) if axes else list(reversed(range(len(shape))))
    return tuple(shape[a] for a in order)


@_entry("ExpandDims", "x with a size-1 axis at `axis` (no weights).")
def expand_dims_output(config: Config, input_shapes: list) -> Shape:
    shape = list(operand_shapes(config, input_shapes)[0])
    values = config["axis"] if isinstance(config["axis"], list | tuple) else [config["axis"]]
    for axis in sorted(_axes(values, len(shape) + len(values))):
        shape.insert(axis, 1)
    return tuple(shape)


@_entry("Squeeze", "x without its size-1 `axis` (every size-1 axis when None) (no weights).")
def squeeze_output(config: Config, input_shapes: list) -> Shape:
    shape = operand_shapes(config, input_shapes)[0]
    axis = config.get("axis")
    if axis is None:
        return tuple(d for d in shape if d != 1)
    axes = set(_axes(axis, len(shape)))
    if any(shape[a] not in (1, None) for a in axes):
        raise ValueError("only an axis of size 1 is squeezed")
    return tuple(d for a, d in enumerate(shape) if a not in axes)


@_entry("Concatenate", "The tensors joined along `axis` (no weights).")
def concatenate_output(config: Config, input_shapes: list) -> Shape:
    shapes = _tensor_shapes(config, input_shapes)
    axis = _axes(config.get("axis", 0), len(shapes[0]))[0]
    sizes = [s[axis] for s in shapes]
    joined = None if None in sizes else sum(sizes)
    return (*shapes[0][:axis], joined, *shapes[0][axis + 1 :])


@_entry("Stack", "The tensors stacked along a new `axis` (no weights).")
def stack_output(config: Config, input_shapes: list) -> Shape:
    shapes = _tensor_shapes(config, input_shapes)
    shape = list(shapes[0])
    shape.insert(_axes(config.get("axis", 0), len(shape) + 1)[0], len(shapes))
    return tuple(shape)


@_entry("Tile", "x repeated `repeats` times along each axis (no weights).")
def tile_output(config: Config, input_shapes: list) -> Shape:
    shape = operand_shapes(config, input_shapes)[0]
    repeats = config["repeats"] if isinstance(config["repeats"], list) else [config["repeats"]]
    rank = max(len(shape), len(repeats))
    shape = (1,) * (rank - len(shape)) + tuple(shape)
    repeats = [1] * (rank - len(repeats)) + [int(r) for r in repeats]
    return tuple(None if d is None else d * r for d, r in zip(shape, repeats, strict=True))


@_entry("Repeat", "Each element of x `repeats` times along `axis` (no weights).")
def repeat_output(config: Config, input_shapes: list) -> Shape:
    shape = operand_shapes(config, input_shapes)[0]
    repeats, axis = config["repeats"], config.get("axis")
    if axis is None:
        shape = (None if None in shape else _product(shape),)
        axis = 0
    axis = _axes(axis, len(shape))[0]
    size = shape[axis]
    if isinstance(repeats, list) and len(repeats) != 1:
        grown = sum(int(r) for r in repeats)
    else:
        count = int(repeats[0] if isinstance(repeats, list) else repeats)
        grown = None if size is None else size * count
    return (*shape[:axis], grown, *shape[axis + 1 :])


def _product(shape: Shape) -> int:
    total = 1
    for d in shape:
        total *= d
    return total


@_entry("Pad", "x padded by `pad_width` per axis, in `mode` (no weights).")
def pad_output(config: Config, input_shapes: list) -> Shape:
    shape = operand_shapes(config, input_shapes)[0]
    widths = np.broadcast_to(np.asarray(config["pad_width"]), (len(shape), 2)).tolist()
    return tuple(None if d is None else d + sum(w) for d, w in zip(shape, widths, strict=True))


@_entry("Flip", "x in reverse order along `axis` (no weights).")
def flip_output(config: Config, input_shapes: list) -> Shape:
    return operand_shapes(config, input_shapes)[0]


@_entry("Take", "x's slices at constant `indices` along `axis` (no weights).")
def take_output(config: Config, input_shapes: list) -> Shape:
    shape = operand_shapes(config, input_shapes)[0]
    indices = _indices_shape(config["call_args"][1], input_shapes)
    axis = config.get("axis")
    if axis is None:
        return tuple(indices)
    axis = _axes(axis, len(shape))[0]
    return (*shape[:axis], *indices, *shape[axis + 1 :])


def _indices_shape(arg: Any, input_shapes: list) -> Shape:
    """The shape of Take's indices: a tensor's, a constant list's, or a recorded array's."""
    if isinstance(arg, dict) and set(arg) == {"tensor"}:
        return tuple(input_shapes[arg["tensor"]])
    if isinstance(arg, dict) and arg.get("class_name") in ARRAY_MARKERS:
        arg = (arg.get("config") or {}).get("value")
    return tuple(np.shape(arg))


@_entry("Split", "x cut along `axis` into several outputs (no weights).")
def split_output(config: Config, input_shapes: list) -> list[Shape]:
    """Keras' `_compute_split_output_spec`: equal pieces, or the spans between indices."""
    shape = operand_shapes(config, input_shapes)[0]
    axis = _axes(config.get("axis", 0), len(shape))[0]
    cut, length = config["indices_or_sections"], shape[axis]
    if isinstance(cut, int):
        if length is not None and length % cut:
            raise ValueError(f"a size of {length} is not cut into {cut} equal pieces")
        sizes = [None if length is None else length // cut] * cut
    else:
        bounds = [0, *cut, length]
        sizes = [None if b is None else b - a for a, b in zip(bounds, bounds[1:], strict=False)]
    return [(*shape[:axis], size, *shape[axis + 1 :]) for size in sizes]
