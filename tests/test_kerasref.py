"""`tests.support.kerasref.call` computes the layers TensorFlow's own CPU kernels cannot run by an
equivalent every CPU runs; here that equivalent is checked against Keras' own computation on
layers every CPU runs, so the rewrite itself is proven on any machine."""

from __future__ import annotations

import numpy as np
import pytest

from tests.reference.harness import TOLERANCE, random_inputs, randomize_weights
from tests.support import kerasref
from tests.support.kerasref import keras

CF = {"data_format": "channels_first"}

# Layers TensorFlow runs on every CPU, of each shape the equivalent handles: channels first
# (1D, 2D, 3D; a sequence and its states), dilated (1D, 2D, a depthwise kernel), both. No
# channels-first output here has as many columns as channels: Keras 3.15's TensorFlow `add`
# then adds the bias along the columns (it guesses NHWC), a Keras bug the equivalent avoids.
NATIVE = [
    ("SeparableConv1D", {"filters": 4, "kernel_size": 3, **CF}, (2, 3, 9)),
    ("DepthwiseConv2D", {"kernel_size": 3, "strides": 2, "padding": "same", **CF}, (2, 3, 7, 8)),
    ("Conv3D", {"filters": 2, "kernel_size": 2, "strides": (1, 2, 1), **CF}, (1, 2, 4, 5, 4)),
    (
        "ConvLSTM3D",
        {"filters": 2, "kernel_size": 2, "return_sequences": True, "return_state": True, **CF},
        (1, 3, 2, 3, 4, 4),
    ),
    ("Conv1D", {"filters": 3, "kernel_size": 3, "dilation_rate": 2}, (2, 9, 2)),
    ("Conv2D", {"filters": 3, "kernel_size": (2, 3), "dilation_rate": (3, 2)}, (1, 8, 9, 2)),
    ("DepthwiseConv2D", {"kernel_size": 2, "dilation_rate": 2, "padding": "same"}, (1, 6, 6, 2)),
    ("Conv3D", {"filters": 2, "kernel_size": 2, "dilation_rate": 2, **CF}, (1, 2, 5, 5, 5)),
]


@pytest.mark.parametrize(
    ("class_name", "config", "shape"), NATIVE, ids=[f"{c}-{i}" for i, (c, *_) in enumerate(NATIVE)]
)
def test_equivalent_equals_what_keras_computes_where_every_cpu_runs_it(class_name, config, shape):
    [x] = random_inputs([shape])
    layer = getattr(keras.layers, class_name)(**config)
    layer(x)
    randomize_weights(layer)
    assert not kerasref.lacks_cpu_kernel(layer)
    expected = keras.tree.flatten(layer(x))
    got = keras.tree.flatten(kerasref.equivalent_call(layer, x))
    assert len(got) == len(expected)
    for ours, theirs in zip(got, expected, strict=True):
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_allclose(ours, keras.ops.convert_to_numpy(theirs), **TOLERANCE)


def test_equivalent_builds_an_unbuilt_layer_and_keeps_its_weights():
    layer = keras.layers.Conv2DTranspose(2, 3, dilation_rate=2, **CF)
    [x] = random_inputs([(1, 3, 4, 4)])
    out = kerasref.call(layer, x)
    assert layer.built and out.shape == (1, 2, 8, 8)
    assert [tuple(w.shape) for w in layer.weights] == [(3, 3, 2, 3), (2,)]


@pytest.mark.parametrize(
    ("layer", "lacks"),
    [
        (keras.layers.Conv1D(2, 3, **CF), True),
        (keras.layers.Conv2D(2, 3, **CF), True),
        (keras.layers.ConvLSTM2D(2, 3, **CF), True),
        (keras.layers.Conv1DTranspose(2, 3, dilation_rate=2), True),
        (keras.layers.Conv2DTranspose(2, 3, **CF), True),
        (keras.layers.Conv3DTranspose(2, 3, dilation_rate=(1, 2, 1)), True),
        (keras.layers.Conv2D(2, 3, dilation_rate=2), False),
        (keras.layers.Conv3D(2, 3, **CF), False),
        (keras.layers.ConvLSTM3D(2, 3, **CF), False),
        (keras.layers.DepthwiseConv2D(3, **CF), False),
        (keras.layers.SeparableConv2D(2, 3, dilation_rate=2, **CF), False),
        (keras.layers.Conv2DTranspose(2, 3), False),
    ],
    ids=lambda value: value if isinstance(value, bool) else type(value).__name__,
)
def test_the_equivalent_is_chosen_by_class_and_config_alone(layer, lacks):
    assert kerasref.lacks_cpu_kernel(layer) is lacks
