"""Mask rules (each registry entry's `mask_rule`) against Keras' own `compute_mask`."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import UnsupportedModel
from app.layers.registry import REGISTRY, output_masks
from app.reference import FORWARDS
from app.reference.forwards import run_layer
from tests.reference.harness import random_inputs
from tests.reference.recurrent_harness import entry
from tests.support.kerasref import keras

L = keras.layers
# One value per required constructor argument of the classes that have a forward.
ARGUMENTS = {
    "activation": "relu", "output_size": 2, "rate": 0.5, "pool_size": 2, "height": 2,
    "width": 2, "filters": 2, "kernel_size": 1, "units": 2, "axes": 1,
    "equation": "ab,bc->ac", "output_shape": 2, "input_dim": 3, "output_dim": 2,
    "stddev": 0.1, "head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1,
    "init_values": 0.1, "projection_dim": 2, "num_heads": 2, "key_dim": 2, "dims": (1,),
    "factor": 0.1, "height_factor": 0.1, "width_factor": 0.1, "n": 2, "scale": 1.0,
    "target_shape": (1,), "drop_path_rate": 0.1, "num_tokens": 3, "num_bins": 3,
}  # fmt: skip


def keras_class(name: str):
    from keras.src.applications import convnext

    return getattr(L, name, None) or getattr(convnext, name, None)


def instance(name: str):
    """An instance of `name` built from ARGUMENTS (wrappers around an LSTM / Dense)."""
    import inspect

    cls = keras_class(name)
    params = inspect.signature(cls.__init__).parameters
    args = {k: v for k, v in ARGUMENTS.items() if k in params}
    if name == "Embedding":
        args["mask_zero"] = True  # it supports masking exactly when it makes a mask
    if name == "RandomPosterization":
        args["factor"] = 2  # bits, from 1 to 8
    if "layer" in params:
        args["layer"] = L.LSTM(2) if name == "Bidirectional" else L.Dense(2)
    if "cell" in params:
        args["cell"] = L.LSTMCell(2)
    return cls(**args)


def test_mask_rules_cover_the_classes_keras_masks():
    """A class has a rule exactly when Keras' layer supports masking: otherwise a mask
    would be kept where Keras drops it, or dropped where Keras keeps it."""
    names = sorted(n for n in FORWARDS if keras_class(n) is not None)
    keras_masks = {n for n in names if instance(n).supports_masking}
    ours = {n for n in names if REGISTRY[n].supports_masking}
    assert sorted(keras_masks - ours) == [], "Keras masks, no rule here"
    assert sorted(ours - keras_masks) == [], "rule here, Keras does not mask"


def keras_masks(layer, inputs, masks):
    """Keras' compute_mask as a list of NumPy masks (or None)."""
    arg = inputs[0] if len(inputs) == 1 else list(inputs)
    mask = masks[0] if len(masks) == 1 else list(masks)
    found = layer.compute_mask(arg, mask)
    found = found if isinstance(found, list | tuple) else [found]
    return [None if m is None else keras.ops.convert_to_numpy(m) for m in found]


SEQ = random_inputs([(2, 4, 3), (2, 4, 3)])
M1 = np.array([[1, 1, 0, 0], [1, 0, 1, 0]], dtype=bool)
M2 = np.array([[0, 1, 1, 0], [1, 0, 0, 0]], dtype=bool)
IDS = np.array([[3, 0, 2, 0], [0, 0, 1, 4]], dtype=np.int32)
X_MASKED = SEQ[0].copy()
X_MASKED[0, 1] = 0.5
X_MASKED[1, 2] = 0.5

CASES = [
    ("Embedding", {"input_dim": 5, "output_dim": 2, "mask_zero": True}, [IDS], [None]),
    ("Embedding", {"input_dim": 5, "output_dim": 2}, [IDS], [None]),
    ("Masking", {"mask_value": 0.5}, [X_MASKED], [None]),
    ("Dense", {"units": 2}, [SEQ[0]], [M1]),
    ("Add", {}, SEQ, [M1, M2]),
    ("Multiply", {}, SEQ, [M1, None]),
    ("Average", {}, SEQ, [None, None]),
    ("Concatenate", {}, SEQ, [M1, None]),
    ("Concatenate", {"axis": 1}, SEQ, [M1, M2]),
    ("Dot", {"axes": 2}, SEQ, [M1, M2]),
    ("LSTM", {"units": 2, "return_sequences": True}, [SEQ[0]], [M1]),
    ("GRU", {"units": 2, "return_state": True}, [SEQ[0]], [M1]),
    ("Bidirectional", {"layer": entry("GRU", units=2, return_sequences=True)}, [SEQ[0]], [M1]),
    (
        "Bidirectional",
        {"layer": entry("GRU", units=2, return_sequences=True), "merge_mode": None},
        [SEQ[0]],
        [M1],
    ),
    ("TimeDistributed", {"layer": entry("Dense", units=2)}, [SEQ[0]], [M2]),
]


@pytest.mark.parametrize(
    ("class_name", "config", "inputs", "masks"), CASES, ids=[c[0] for c in CASES]
)
def test_output_mask_matches_keras(class_name, config, inputs, masks):
    layer = getattr(L, class_name).from_config(dict(config))
    expected = keras_masks(layer, inputs, masks)
    outputs = [np.zeros(1)] * len(expected)  # the rules read configs, inputs and masks only
    ours = output_masks(class_name, config, inputs, masks, outputs)
    assert [m is None for m in ours] == [m is None for m in expected]
    for mine, theirs in zip(ours, expected, strict=True):
        if theirs is not None:
            np.testing.assert_array_equal(mine, theirs)


def test_layer_without_rule_drops_the_mask():
    assert output_masks("Flatten", {}, [SEQ[0]], [M1], [np.zeros((2, 12))]) == [None]


ALL_MASKED = np.array([[0, 0, 0, 0], [1, 0, 1, 0]], dtype=bool)


@pytest.mark.parametrize("mask", [M1, M2, ALL_MASKED], ids=["m1", "m2", "all-masked"])
@pytest.mark.parametrize(
    "config", [{}, {"keepdims": True}, {"data_format": "channels_first"}], ids=str
)
def test_global_average_pooling_1d_averages_the_kept_steps_as_keras_does(config, mask):
    x = SEQ[0] if "data_format" not in config else np.swapaxes(SEQ[0], 1, 2)
    layer = L.GlobalAveragePooling1D(**config)
    expected = keras.ops.convert_to_numpy(layer(x, mask=mask))
    ours = run_layer("GlobalAveragePooling1D", config, {}, [x], masks=[mask])
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-7)  # NaN = NaN (0/0)


def test_softmax_with_a_mask_matches_keras():
    """Keras' Softmax layer: −1e9 where masked, softmax, then 0 there (a fully masked row
    is 0, not uniform)."""
    x = SEQ[0]  # (2, 4, 3)
    mask = np.array([[1, 0, 1], [0, 0, 0]], dtype=bool)[:, None, :]  # broadcasts to x
    expected = keras.ops.convert_to_numpy(L.Softmax()(x, mask=mask))
    ours = run_layer("Softmax", {}, {}, [x], masks=[mask])
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-7)


def test_conv_lstm_under_a_mask_is_unsupported_not_computed_otherwise():
    x = np.zeros((2, 4, 5, 3), dtype=np.float32)
    with pytest.raises(UnsupportedModel, match="masked steps in ConvLSTM1D"):
        run_layer("ConvLSTM1D", {"filters": 2, "kernel_size": 1}, {}, [x], masks=[M1])
