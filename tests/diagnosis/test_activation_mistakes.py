"""Each activation mistake on a model where only it is made, the mistaken numbers written
by hand in NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from tests.diagnosis.support import case, codes
from tests.support.kerasref import keras
from tests.support.models import randomize_weights

layers = keras.layers
X = (np.random.default_rng(9).normal(size=(2, 3, 4)) * 4).astype("float32")


def build(tmp_path_factory, *stack):
    model = keras.Sequential([keras.Input((3, 4)), *stack])
    randomize_weights(model, seed=31)
    return case(model, X, tmp_path_factory.mktemp("act"))


def named_first(model_case, layer, theirs, code):
    diagnosis = model_case.diagnose({layer: np.asarray(theirs, np.float32)})
    assert diagnosis.verdict == "explained", diagnosis.difference
    assert codes(diagnosis)[0] == code
    return diagnosis


def test_keras2_hard_sigmoid_on_an_activation_is_named(tmp_path_factory):
    model = build(tmp_path_factory, layers.Activation("hard_sigmoid", name="act"))
    named_first(model, "act", np.clip(0.2 * X + 0.5, 0, 1), "hard-sigmoid-keras2")


def test_keras2_hard_sigmoid_in_a_dense_is_named(tmp_path_factory):
    model = build(tmp_path_factory, layers.Dense(5, activation="hard_sigmoid", name="dense"))
    kernel, bias = (np.asarray(w, np.float64) for w in model.weights)
    theirs = np.clip(0.2 * (X @ kernel + bias) + 0.5, 0, 1)
    named_first(model, "dense", theirs, "hard-sigmoid-keras2")


def test_softmax_over_the_wrong_axis_is_named(tmp_path_factory):
    model = build(tmp_path_factory, layers.Softmax(name="softmax"))
    e = np.exp(X - X.max(axis=1, keepdims=True))
    diagnosis = named_first(
        model, "softmax", e / e.sum(axis=1, keepdims=True), "softmax-wrong-axis"
    )
    assert diagnosis.mistakes[0].form == "over axis 1"


def test_relu_max_value_ignored_is_named(tmp_path_factory):
    model = build(tmp_path_factory, layers.ReLU(max_value=2.0, name="relu"))
    named_first(model, "relu", np.maximum(X, 0), "relu-max-value-ignored")


@pytest.mark.parametrize("slope", [0.2, 0.01])
def test_leakyrelu_with_another_slope_is_named(tmp_path_factory, slope):
    model = build(tmp_path_factory, layers.LeakyReLU(name="leaky"))  # its slope: 0.3
    diagnosis = named_first(model, "leaky", np.where(X > 0, X, slope * X), "leakyrelu-slope")
    assert diagnosis.mistakes[0].form == f"slope {slope:g}"
