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


@pytest.mark.parametrize("layer", ["conv", "flatten", "dense"])
def test_keras_own_conv_numbers_match(tmp_path_factory, layer):
    model = build(
        tmp_path_factory,
        layers.Conv2D(3, 3, padding="same", name="conv"),
        layers.Flatten(name="flatten"),
        layers.Dense(2, name="dense"),
    )
    diagnosis = model.diagnose({layer: model.keras[layer]})
    assert diagnosis.verdict == "matches-keras"
    assert diagnosis.mistakes == []


def reshaped_from_channels_first(array):
    """What a channels-first array (N, C, H, W) becomes under a plain reshape to (N, H, W, C):
    written with an explicit index loop, element by element in memory order."""
    n, c, h, w = array.shape
    flat = array.reshape(n, -1)  # C order: the channels-first layout in memory
    out = np.empty((n, h, w, c), array.dtype)
    for index in range(c * h * w):  # the index-th value lands at the index-th NHWC place
        i, rest = divmod(index, w * c)
        j, k = divmod(rest, c)
        out[:, i, j, k] = flat[:, index]
    return out


def test_channels_first_data_read_as_channels_last_is_named(tmp_path_factory):
    # Their data is channels-first, X.transpose(0, 3, 1, 2); they reshaped it where it
    # needed a transpose, and fed that to the layer (the inputs they send us are X).
    model = build(tmp_path_factory, layers.Conv2D(3, 3, padding="same", name="conv"))
    kernel, bias = (np.asarray(w, np.float64) for w in model.weights)
    fed = reshaped_from_channels_first(X.transpose(0, 3, 1, 2))
    theirs = correlate(fed, kernel, bias, 1, ((1, 1), (1, 1)))
    diagnosis = named_first(model, "conv", theirs, "conv-channels-order")
    assert diagnosis.mistakes[0].form == "channels-first input read as channels-last"


def test_output_read_back_in_the_other_order_is_named(tmp_path_factory):
    # Their program is channels-first: it computes Keras' numbers as (N, C, H, W), then
    # reshapes them to (N, H, W, C) without the transpose.
    model = build(tmp_path_factory, layers.Conv2D(3, 3, padding="same", name="conv"))
    kernel, bias = (np.asarray(w, np.float64) for w in model.weights)
    right = correlate(X, kernel, bias, 1, ((1, 1), (1, 1)))
    theirs = reshaped_from_channels_first(right.transpose(0, 3, 1, 2))
    diagnosis = named_first(model, "conv", theirs, "conv-channels-order")
    assert diagnosis.mistakes[0].form == "channels-first output read as channels-last"


def test_channels_first_data_is_named_from_the_model_output_alone(tmp_path_factory):
    # Only the Dense's output is sent: the model-wide search makes the mistake at the Conv2D.
    model = build(
        tmp_path_factory,
        layers.Conv2D(3, 3, padding="same", name="conv"),
        layers.Flatten(name="flatten"),
        layers.Dense(2, name="dense"),
    )
    kernel, bias, dense_kernel, dense_bias = (np.asarray(w, np.float64) for w in model.weights)
    fed = reshaped_from_channels_first(X.transpose(0, 3, 1, 2))
    conv = correlate(fed, kernel, bias, 1, ((1, 1), (1, 1)))
    theirs = conv.reshape(2, -1) @ dense_kernel + dense_bias
    diagnosis = named_first(model, "dense", theirs, "conv-channels-order")
    assert diagnosis.mistakes[0].layer == "conv"
