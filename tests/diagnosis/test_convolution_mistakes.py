"""Each convolution and Flatten mistake on a model where only it is made, the mistaken
numbers written by hand in NumPy (a loop of cross-correlations, explicit padding)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.diagnosis.support import case, codes
from tests.support.kerasref import keras
from tests.support.models import randomize_weights

layers = keras.layers
X = np.random.default_rng(13).normal(size=(2, 6, 6, 2)).astype("float32")


def correlate(x, kernel, bias, stride, pads):
    """Cross-correlation of x (N, H, W, C) padded by pads ((top, bottom), (left, right))."""
    x = np.pad(x.astype(np.float64), [(0, 0), *pads, (0, 0)])
    kh, kw = kernel.shape[:2]
    rows = (x.shape[1] - kh) // stride + 1
    cols = (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], rows, cols, kernel.shape[-1]))
    for i in range(rows):
        for j in range(cols):
            patch = x[:, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
            out[:, i, j, :] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2]))
    return out + bias


def build(tmp_path_factory, *stack):
    model = keras.Sequential([keras.Input((6, 6, 2)), *stack])
    randomize_weights(model, seed=41)
    return case(model, X, tmp_path_factory.mktemp("conv"))


def named_first(model_case, layer, theirs, code):
    diagnosis = model_case.diagnose({layer: np.asarray(theirs, np.float32)})
    assert diagnosis.verdict == "explained", diagnosis.difference
    assert codes(diagnosis)[0] == code
    return diagnosis


def test_flipped_kernel_is_named(tmp_path_factory):
    model = build(tmp_path_factory, layers.Conv2D(3, 3, padding="same", name="conv"))
    kernel, bias = (np.asarray(w, np.float64) for w in model.weights)
    theirs = correlate(X, kernel[::-1, ::-1], bias, 1, ((1, 1), (1, 1)))
    named_first(model, "conv", theirs, "conv-kernel-flipped")


def test_same_padding_with_the_extra_pixel_at_the_start_is_named(tmp_path_factory):
    # 6 pixels, kernel 3, stride 2: out 3, total padding (3 − 1)·2 + 3 − 6 = 1. TensorFlow
    # pads (0, 1); a symmetric split that rounds the other way pads (1, 0).
    model = build(tmp_path_factory, layers.Conv2D(3, 3, strides=2, padding="same", name="conv"))
    kernel, bias = (np.asarray(w, np.float64) for w in model.weights)
    assert np.allclose(
        correlate(X, kernel, bias, 2, ((0, 1), (0, 1))), model.keras["conv"], atol=1e-5
    )
    theirs = correlate(X, kernel, bias, 2, ((1, 0), (1, 0)))
    named_first(model, "conv", theirs, "conv-same-padding-start")


def test_flatten_in_channels_first_order_is_named(tmp_path_factory):
    model = build(tmp_path_factory, layers.Flatten(name="flatten"))
    theirs = X.transpose(0, 3, 1, 2).reshape(2, -1)
    named_first(model, "flatten", theirs, "flatten-channels-first")


@pytest.mark.parametrize("layer", ["conv"])
def test_keras_own_conv_numbers_match(tmp_path_factory, layer):
    model = build(tmp_path_factory, layers.Conv2D(3, 3, padding="same", name="conv"))
    assert model.diagnose({layer: model.keras[layer]}).verdict == "matches-keras"
