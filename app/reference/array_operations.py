"""Keras operations that move array elements without arithmetic (`x[:, 0]`, `ops.reshape`,
`ops.transpose`, `ops.concatenate`, ...), as Keras runs them on the TensorFlow backend.

The operation's settings are in its config (`newshape`, `axes`, `axis`, `repeats`,
`pad_width`, `mode`); its call's positional arguments in `config["call_args"]`, each tensor at
any depth as `{"tensor": i}` (`ops.concatenate([a, b])` takes a list), and its keywords in
`config["call_kwargs"]` (Pad's `constant_values`). A GetItem key is written as Keras'
serializer writes it: an int, None (newaxis), a `__slice__` or an `__ellipsis__` object, or a
list of them (Keras indexes with the tuple). Values keep the input's dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.errors import UnsupportedModel
from app.reference.forwards import Config, Weights, forward
from app.reference.operations import OPS_PREFIX, operands

ARRAY_OPERATIONS = (
    "GetItem", "Reshape", "Transpose", "ExpandDims", "Squeeze", "Concatenate", "Stack", "Tile",
    "Repeat", "Pad", "Flip", "Take", "Split",
)  # fmt: skip
PAD_MODES = ("constant", "reflect", "symmetric")  # tf.pad's modes, as Keras names them


def filled(arg: Any, inputs: list[np.ndarray]) -> Any:
    """A call argument with its tensors in place, at any depth."""
    if isinstance(arg, dict) and set(arg) == {"tensor"}:
        return inputs[arg["tensor"]]
    if isinstance(arg, list):
        return [filled(item, inputs) for item in arg]
    return arg


def tensors_in_place(config: Config, inputs: list[np.ndarray]) -> list[Any]:
    template = config.get("call_args") or [{"tensor": i} for i in range(len(inputs))]
    return [filled(arg, inputs) for arg in template]


def index_key(key: Any) -> Any:
    """A GetItem key as Python indexes with it: a list is a tuple, as in `GetItem.call`."""
    if isinstance(key, list):
        return tuple(key_item(item) for item in key)
    return key_item(key)


def key_item(item: Any) -> Any:
    """One index of a key: an int, None (newaxis), a slice or Ellipsis; nothing else (a
    tensor index) is read."""
    if item is None or (isinstance(item, int) and not isinstance(item, bool)):
        return item
    if isinstance(item, dict) and item.get("class_name") == "__ellipsis__":
        return Ellipsis
    if isinstance(item, dict) and item.get("class_name") == "__slice__":
        bounds = item.get("config") or {}
        values = [bounds.get(key) for key in ("start", "stop", "step")]
        if all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in values):
            return slice(*values)
    raise UnsupportedModel(f"A GetItem index {str(item)[:40]} is not an int, a slice or None.")


def _axis(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@forward(OPS_PREFIX + "GetItem")
def get_item_operation(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """y = x[key]: NumPy's basic indexing (ints, slices with negative bounds and steps,
    None, Ellipsis), as tf.Tensor.__getitem__ does it."""
    x, key = tensors_in_place(config, inputs)[:2]
    return np.asarray(x[index_key(key)])


@forward(OPS_PREFIX + "Reshape")
def reshape_operation(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """y = reshape(x, newshape): newshape counts the batch axis; one -1 is worked out."""
    x = tensors_in_place(config, inputs)[0]
    return np.reshape(x, config["newshape"])


@forward(OPS_PREFIX + "Transpose")
def transpose_operation(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """y = transpose(x, axes); no axes reverses them all."""
    x = tensors_in_place(config, inputs)[0]
    return np.transpose(x, _axis(config.get("axes")))


@forward(OPS_PREFIX + "ExpandDims")
def expand_dims_operation(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """y = x with a size-1 axis at each `axis` (counted in the output's rank)."""
    x = tensors_in_place(config, inputs)[0]
    return np.expand_dims(x, _axis(config["axis"]))


@forward(OPS_PREFIX + "Squeeze")
def squeeze_operation(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """y = x without its size-1 `axis` (every size-1 axis when None, the batch's too)."""
    x = tensors_in_place(config, inputs)[0]
    return np.squeeze(x, _axis(config.get("axis")))


@forward(OPS_PREFIX + "Concatenate")
def concatenate_operation(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """y = the tensors joined along `axis` (Keras' default 0, the batch axis)."""
    xs = tensors_in_place(config, inputs)[0]
    return np.concatenate(xs, axis=config.get("axis", 0))


@forward(OPS_PREFIX + "Stack")
def stack_operation(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """y = the tensors stacked along a new `axis` (default 0)."""
    xs = tensors_in_place(config, inputs)[0]
    return np.stack(xs, axis=config.get("axis", 0))


@forward(OPS_PREFIX + "Tile")
def tile_operation(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """y = x repeated `repeats` times along each axis (1s prepended to the shorter)."""
    x = tensors_in_place(config, inputs)[0]
    return np.tile(x, _axis(config["repeats"]))


@forward(OPS_PREFIX + "Repeat")
def repeat_operation(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """y = each element of x `repeats` times along `axis` (x flattened when None)."""
    x = tensors_in_place(config, inputs)[0]
    return np.repeat(x, config["repeats"], axis=config.get("axis"))


@forward(OPS_PREFIX + "Pad")
def pad_operation(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """y = x padded by `pad_width` (before, after) per axis: with `constant_values` (0 when
    None) in constant mode, mirrored in reflect and symmetric mode, as tf.pad does."""
    x = tensors_in_place(config, inputs)[0]
    mode = str(config.get("mode", "constant")).lower()  # tf.pad takes mode.upper()
    if mode not in PAD_MODES:
        raise UnsupportedModel(f"Pad's mode {str(mode)[:20]!r} is not one Keras' tf.pad takes.")
    width = np.asarray(config["pad_width"], dtype=np.int64)
    if mode != "constant":
        return np.pad(x, width, mode=mode)
    value = (config.get("call_kwargs") or {}).get("constant_values")
    return np.pad(x, width, mode="constant", constant_values=0 if value is None else value)


@forward(OPS_PREFIX + "Flip")
def flip_operation(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """y = x in reverse order along `axis` (every axis when None)."""
    x = tensors_in_place(config, inputs)[0]
    return np.flip(x, _axis(config.get("axis")))


@forward(OPS_PREFIX + "Take")
def take_operation(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """y = x's slices at `indices` along `axis` (x flattened when None); a negative index
    counts from the end (Keras' `fix_negative_indices`); tf.gather refuses one out of range."""
    x, indices = operands(config, inputs)[:2]
    axis = config.get("axis")
    indices = np.asarray(indices)
    if indices.dtype.kind not in "iu":
        raise UnsupportedModel("Take's indices are not integers.")
    length = x.size if axis is None else x.shape[axis]
    if indices.size and not -length <= int(indices.min()) <= int(indices.max()) < length:
        raise UnsupportedModel(f"Take's indices are out of range for a size of {length}.")
    return np.take(x, indices, axis=axis)


@forward(OPS_PREFIX + "Split")
def split_operation(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """y₁, …, yₙ = x cut along `axis` (default 0): into `indices_or_sections` equal pieces
    (tf.split refuses an uneven cut), or at the listed indices."""
    x = tensors_in_place(config, inputs)[0]
    cut, axis = config["indices_or_sections"], config.get("axis", 0)
    if isinstance(cut, int) and x.shape[axis] % cut:
        raise UnsupportedModel(f"Split cannot cut a size of {x.shape[axis]} into {cut} pieces.")
    return list(np.split(x, cut, axis=axis))
