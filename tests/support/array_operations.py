"""Keras operations that move array elements, one small model each: the input's batch
shape and the function applied to it, with non-default arguments where the operation has
them. tests/layers compares the shapes, tests/reference the forwards, with Keras."""

from __future__ import annotations

from tests.support.kerasref import keras

ops = keras.ops

CASES = {
    # GetItem: the key as Keras writes it (ints, __slice__, None, __ellipsis__)
    "get-slice": ((None, 3, 4), lambda x: x[:, 1:]),
    "get-int": ((None, 3, 4), lambda x: x[:, 0]),
    "get-negative-int": ((None, 3, 4), lambda x: x[..., -1]),
    "get-step": ((None, 5, 4), lambda x: x[:, ::2, :]),
    "get-negative-step": ((None, 5, 4), lambda x: x[:, -1:0:-2]),
    "get-newaxis": ((None, 3, 4), lambda x: x[:, None, :, :]),
    "get-ellipsis-newaxis": ((None, 3, 4), lambda x: x[..., None, 1:3]),
    "get-unknown-axis": ((None, None, 4), lambda x: x[:, 1:, 2]),
    "get-batch-index": ((None, 3, 4), lambda x: x[0]),
    # Reshape: newshape counts the batch
    "reshape-flat": ((None, 3, 4), lambda x: ops.reshape(x, (-1, 12))),
    "reshape-3d": ((None, 3, 4), lambda x: ops.reshape(x, (-1, 2, 6))),
    "reshape-unknown": ((None, None, 4), lambda x: ops.reshape(x, (-1, 2, 2))),
    # Transpose
    "transpose": ((None, 3, 4), lambda x: ops.transpose(x, (0, 2, 1))),
    "transpose-negative": ((None, 2, 3, 4), lambda x: ops.transpose(x, (0, -1, 1, 2))),
    "transpose-reversed": ((None, 3, 4), lambda x: ops.transpose(x)),
    # ExpandDims / Squeeze
    "expand": ((None, 3, 4), lambda x: ops.expand_dims(x, 1)),
    "expand-last": ((None, 3, 4), lambda x: ops.expand_dims(x, -1)),
    "expand-two": ((None, 3, 4), lambda x: ops.expand_dims(x, [1, 4])),
    "squeeze": ((None, 1, 4), lambda x: ops.squeeze(x, 1)),
    "squeeze-negative": ((None, 3, 1), lambda x: ops.squeeze(x, -1)),
    "squeeze-all": ((None, 1, 4, 1), lambda x: ops.squeeze(x)),
    # Concatenate / Stack: a list of tensors
    "concatenate": ((None, 3, 4), lambda x: ops.concatenate([x, x * 2.0], axis=-1)),
    "concatenate-three": ((None, 3, 4), lambda x: ops.concatenate([x, x[:, :1], -x], axis=1)),
    "concatenate-unknown": ((None, None, 4), lambda x: ops.concatenate([x, x], axis=1)),
    "stack": ((None, 3, 4), lambda x: ops.stack([x, x], axis=1)),
    "stack-last": ((None, 3, 4), lambda x: ops.stack([x, x, x], axis=-1)),
    # Tile / Repeat
    "tile": ((None, 3, 4), lambda x: ops.tile(x, (1, 2, 1))),
    "tile-short": ((None, 3, 4), lambda x: ops.tile(x, (2, 3))),
    "repeat": ((None, 3, 4), lambda x: ops.repeat(x, 2, axis=1)),
    "repeat-each": ((None, 3, 4), lambda x: ops.repeat(x, [1, 2, 0], axis=1)),
    "repeat-unknown": ((None, None, 4), lambda x: ops.repeat(x, 3, axis=1)),
    # Pad
    "pad": ((None, 3, 4), lambda x: ops.pad(x, ((0, 0), (1, 1), (0, 0)))),
    "pad-value": (
        (None, 3, 4),
        lambda x: ops.pad(x, ((0, 0), (2, 0), (1, 3)), constant_values=1.5),
    ),
    "pad-reflect": ((None, 3, 4), lambda x: ops.pad(x, ((0, 0), (1, 2), (0, 1)), mode="reflect")),
    "pad-symmetric": (
        (None, 3, 4),
        lambda x: ops.pad(x, ((0, 0), (2, 2), (3, 0)), mode="symmetric"),
    ),
    "pad-unknown": ((None, None, 4), lambda x: ops.pad(x, ((0, 0), (1, 1), (2, 2)))),
    # Flip / Take
    "flip": ((None, 3, 4), lambda x: ops.flip(x, axis=1)),
    "flip-all": ((None, 3, 4), lambda x: ops.flip(x)),
    "take": ((None, 3, 4), lambda x: ops.take(x, [0, 2], axis=1)),
    "take-negative": ((None, 3, 4), lambda x: ops.take(x, [-1, 0, 0], axis=2)),
    "take-2d": ((None, 3, 4), lambda x: ops.take(x, [[0, 1], [2, 0]], axis=1)),
    "take-one": ((None, 3, 4), lambda x: ops.take(x, 1, axis=-1)),
    # Split: several outputs
    "split": ((None, 3, 4), lambda x: ops.split(x, 2, axis=-1)),
    "split-indices": ((None, 5, 4), lambda x: ops.split(x, [1, 3], axis=1)),
    "split-unknown": ((None, None, 4), lambda x: ops.split(x, [2], axis=1)),
}
