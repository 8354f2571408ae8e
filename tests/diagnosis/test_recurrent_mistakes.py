"""Each recurrent mistake on a model where only it is made: a GRU written here by hand in
NumPy, step by step, with the one thing done wrong."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import YoursWrongShape
from tests.diagnosis.support import case, codes
from tests.support.kerasref import keras
from tests.support.models import randomize_weights

layers = keras.layers
X = np.random.default_rng(17).normal(size=(2, 5, 3)).astype("float32")
UNITS = 4


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def hard_sigmoid(z):  # Keras 3's
    return np.clip(z / 6 + 0.5, 0, 1)


def gru(x, kernel, recurrent, bias, gate=sigmoid, order="zrh", reset_after=True):
    """Keras' GRU (reset_after=True: bias rows [input, recurrent]); `order` names the gate
    each stored block is read as; reset_after=False uses the input bias row only."""
    blocks = {name: slice(i * UNITS, (i + 1) * UNITS) for i, name in enumerate(order)}
    h = np.zeros((x.shape[0], UNITS))
    steps = []
    for t in range(x.shape[1]):
        xw = x[:, t] @ kernel + bias[0]
        hu = h @ recurrent + (bias[1] if reset_after else 0)
        z = gate(xw[:, blocks["z"]] + hu[:, blocks["z"]])
        r = gate(xw[:, blocks["r"]] + hu[:, blocks["r"]])
        if reset_after:
            candidate = np.tanh(xw[:, blocks["h"]] + r * hu[:, blocks["h"]])
        else:
            candidate = np.tanh(xw[:, blocks["h"]] + (r * h) @ recurrent[:, blocks["h"]])
        h = z * h + (1 - z) * candidate
        steps.append(h)
    return np.stack(steps, axis=1)


def build(tmp_path_factory, **options):
    model = keras.Sequential([keras.Input((5, 3)), layers.GRU(UNITS, name="gru", **options)])
    randomize_weights(model, seed=51)
    return case(model, X, tmp_path_factory.mktemp("gru"))


def arrays(model_case):
    return [np.asarray(w, np.float64) for w in model_case.weights]


def named_first(model_case, theirs, code):
    diagnosis = model_case.diagnose({"gru": np.asarray(theirs, np.float32)})
    assert diagnosis.verdict == "explained", diagnosis.difference
    assert codes(diagnosis)[0] == code
    return diagnosis


def test_hand_gru_is_keras_gru(tmp_path_factory):
    model = build(tmp_path_factory, return_sequences=True)
    np.testing.assert_allclose(gru(X, *arrays(model)), model.keras["gru"], atol=1e-5)


def test_pytorch_gate_order_is_named(tmp_path_factory):
    model = build(tmp_path_factory)
    theirs = gru(X, *arrays(model), order="rzh")[:, -1]
    named_first(model, theirs, "gru-pytorch-gate-order")


def test_reset_after_ignored_is_named(tmp_path_factory):
    model = build(tmp_path_factory)
    theirs = gru(X, *arrays(model), reset_after=False)[:, -1]
    diagnosis = named_first(model, theirs, "gru-reset-after-ignored")
    assert diagnosis.mistakes[0].form == "with the input bias row"


def test_hard_sigmoid_gates_are_named(tmp_path_factory):
    model = build(tmp_path_factory)
    theirs = gru(X, *arrays(model), gate=hard_sigmoid)[:, -1]
    named_first(model, theirs, "rnn-recurrent-activation")


def test_go_backwards_in_input_order_is_named(tmp_path_factory):
    model = build(tmp_path_factory, go_backwards=True, return_sequences=True)
    processing_order = gru(X[:, ::-1], *arrays(model))
    np.testing.assert_allclose(processing_order, model.keras["gru"], atol=1e-5)
    named_first(model, processing_order[:, ::-1], "rnn-go-backwards-not-reversed")


def test_every_step_where_keras_returns_the_last_is_named(tmp_path_factory):
    model = build(tmp_path_factory)  # return_sequences=False: Keras gives (2, 4)
    theirs = gru(X, *arrays(model))  # all five steps: (2, 5, 4)
    diagnosis = named_first(model, theirs, "rnn-return-sequences")
    assert diagnosis.mistakes[0].form == "every step"
    assert diagnosis.mistakes[0].evidence.error_to_keras is None
    assert diagnosis.tensors[0].their_shape == [2, 5, UNITS]
    assert diagnosis.tensors[0].shape == [2, UNITS]


def test_last_step_where_keras_returns_every_step_is_named(tmp_path_factory):
    model = build(tmp_path_factory, return_sequences=True)
    theirs = gru(X, *arrays(model))[:, -1]
    diagnosis = named_first(model, theirs, "rnn-return-sequences")
    assert diagnosis.mistakes[0].form == "the last step only"
    assert diagnosis.first_divergence == "gru"


def test_every_step_is_named_from_a_later_dense_alone(tmp_path_factory):
    # Their GRU returns every step; their Dense then runs on each step: (2, 5, 2) where
    # Keras gives (2, 2). Only the Dense's output is sent: the model-wide search.
    model = keras.Sequential(
        [keras.Input((5, 3)), layers.GRU(UNITS, name="gru"), layers.Dense(2, name="dense")]
    )
    randomize_weights(model, seed=52)
    model_case = case(model, X, tmp_path_factory.mktemp("gru_dense"))
    kernel, recurrent, bias, dense_kernel, dense_bias = arrays(model_case)
    theirs = gru(X, kernel, recurrent, bias) @ dense_kernel + dense_bias
    diagnosis = model_case.diagnose({"dense": np.asarray(theirs, np.float32)})
    assert diagnosis.verdict == "explained"
    assert codes(diagnosis) == ["rnn-return-sequences"]
    assert diagnosis.mistakes[0].layer == "gru"


def test_an_array_of_another_shape_no_mistake_gives_is_refused(tmp_path_factory):
    model = build(tmp_path_factory)
    with pytest.raises(YoursWrongShape) as refused:
        model.diagnose({"gru": np.ones((2, 3, UNITS), np.float32)})  # 3 steps, not 5
    assert refused.value.details == {
        "field": "yours",
        "layer": "gru",
        "shape": [2, 3, UNITS],
        "expected": [2, UNITS],
    }


@pytest.mark.parametrize("return_sequences", [False, True])
def test_keras_own_recurrent_numbers_claim_no_mistake(tmp_path_factory, return_sequences):
    model = build(tmp_path_factory, return_sequences=return_sequences)
    diagnosis = model.diagnose({"gru": model.keras["gru"]})
    assert diagnosis.verdict == "matches-keras"
    assert diagnosis.mistakes == []
