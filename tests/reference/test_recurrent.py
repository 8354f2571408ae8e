"""SimpleRNN, LSTM, GRU and RNN over cells against Keras: options, masks, initial states."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import UnsupportedModel
from app.reference import run_layer
from tests.reference.harness import random_inputs
from tests.reference.recurrent_harness import (
    assert_sequence_layer_matches_keras,
    entry,
    reference_run,
)
from tests.support.kerasref import keras

X = random_inputs([(3, 5, 4)])[0]
# Row 0: masked in the middle and at the end; row 1: leading steps masked (the output before
# the first kept step); row 2: every step masked (states and output stay at their start).
MASK = np.array(
    [[1, 0, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 0, 0, 0]],
    dtype=bool,
)

CONFIGS = [
    ("SimpleRNN", {"units": 4}),
    ("SimpleRNN", {"units": 3, "activation": "relu", "return_sequences": True}),
    ("SimpleRNN", {"units": 2, "use_bias": False, "go_backwards": True, "return_state": True}),
    ("LSTM", {"units": 4}),
    ("LSTM", {"units": 4, "return_sequences": True, "return_state": True}),
    ("LSTM", {"units": 3, "use_bias": False, "go_backwards": True, "return_sequences": True}),
    ("LSTM", {"units": 3, "recurrent_activation": "hard_sigmoid", "unroll": True}),
    ("LSTM", {"units": 2, "activation": "relu", "unit_forget_bias": False, "return_state": True}),
    ("GRU", {"units": 4}),
    ("GRU", {"units": 4, "reset_after": False}),
    ("GRU", {"units": 3, "reset_after": False, "use_bias": False, "return_sequences": True}),
    ("GRU", {"units": 3, "go_backwards": True, "return_sequences": True, "return_state": True}),
    (
        "GRU",
        {
            "units": 2,
            "reset_after": False,
            "unroll": True,
            "go_backwards": True,
            "return_state": True,
        },
    ),
    ("GRU", {"units": 3, "activation": "softsign", "recurrent_activation": "hard_sigmoid"}),
    ("RNN", {"cell": entry("SimpleRNNCell", units=3), "return_sequences": True}),
    ("RNN", {"cell": entry("LSTMCell", units=3), "return_state": True}),
    ("RNN", {"cell": entry("GRUCell", units=3, reset_after=False), "go_backwards": True}),
    (
        "RNN",
        {
            "cell": [entry("LSTMCell", units=4), entry("GRUCell", units=3)],
            "return_sequences": True,
            "return_state": True,
        },
    ),
    (
        "RNN",
        {
            "cell": entry(
                "StackedRNNCells",
                cells=[entry("SimpleRNNCell", units=4), entry("LSTMCell", units=2)],
            ),
            "return_state": True,
        },
    ),
]
IDS = [f"{c}-{i}" for i, (c, _) in enumerate(CONFIGS)]


@pytest.mark.parametrize(("class_name", "config"), CONFIGS, ids=IDS)
def test_recurrent_layer_matches_keras(class_name, config):
    assert_sequence_layer_matches_keras(class_name, config, X)


@pytest.mark.parametrize(("class_name", "config"), CONFIGS, ids=IDS)
def test_recurrent_layer_with_mask_matches_keras(class_name, config):
    assert_sequence_layer_matches_keras(class_name, config, X, mask=MASK)


ZERO_OUTPUT = [
    ("LSTM", {"units": 3, "return_sequences": True, "zero_output_for_mask": True}),
    ("SimpleRNN", {"units": 3, "go_backwards": True, "zero_output_for_mask": True}),
    # unroll + go_backwards + zero_output_for_mask: Keras' TF backend zeroes the sequence with
    # the mask in original order (the quirk the reference reproduces).
    (
        "GRU",
        {
            "units": 3,
            "return_sequences": True,
            "go_backwards": True,
            "unroll": True,
            "zero_output_for_mask": True,
        },
    ),  # fmt: skip
]


@pytest.mark.parametrize(("class_name", "config"), ZERO_OUTPUT)
def test_zero_output_for_mask_matches_keras(class_name, config):
    assert_sequence_layer_matches_keras(class_name, config, X, mask=MASK)


@pytest.mark.parametrize(
    ("class_name", "config", "sizes"),
    [
        ("LSTM", {"units": 3, "return_sequences": True, "return_state": True}, [3, 3]),
        ("GRU", {"units": 3, "go_backwards": True}, [3]),
        ("SimpleRNN", {"units": 2, "return_state": True}, [2]),
    ],
)
def test_initial_states_match_keras(class_name, config, sizes):
    rng = np.random.default_rng(5)
    states = [rng.normal(size=(3, n)).astype(np.float32) for n in sizes]
    assert_sequence_layer_matches_keras(class_name, config, X, states=states)


# Exact numbers by hand: SimpleRNN, 1 unit, linear, kernel 1, recurrent_kernel 0.5, bias 0,
# x = [1, 2, 3]: h_t = x_t + 0.5·h_{t−1}.
HAND_X = np.array([[[1.0], [2.0], [3.0]]], dtype=np.float32)
HAND_WEIGHTS = {
    "simple_rnn_cell/kernel": np.array([[1.0]], dtype=np.float32),
    "simple_rnn_cell/recurrent_kernel": np.array([[0.5]], dtype=np.float32),
    "simple_rnn_cell/bias": np.array([0.0], dtype=np.float32),
}
HAND = [
    ({}, None, [1.0, 2.5, 4.25]),
    ({"go_backwards": True}, None, [3.0, 3.5, 2.75]),  # processing order: 3, 2 + 1.5, 1 + 1.75
    ({}, [True, False, True], [1.0, 1.0, 3.5]),  # step 1 keeps output and state 1
    ({"zero_output_for_mask": True}, [True, False, True], [1.0, 0.0, 3.5]),
    ({}, [False, True, True], [0.0, 2.0, 4.0]),  # nothing before step 1: output 0, state 0
]


@pytest.mark.parametrize(("options", "mask", "expected"), HAND)
def test_simple_rnn_by_hand(options, mask, expected):
    config = {"units": 1, "activation": "linear", "return_sequences": True, **options}
    mask = None if mask is None else np.array([mask])
    ours = reference_run("SimpleRNN", config, HAND_WEIGHTS, HAND_X, mask=mask)[0]
    np.testing.assert_array_equal(ours[0, :, 0], np.array(expected, dtype=np.float32))
    layer = keras.layers.SimpleRNN(**config)
    layer.build(HAND_X.shape)
    layer.set_weights(list(HAND_WEIGHTS.values()))
    theirs = keras.ops.convert_to_numpy(layer(HAND_X, mask=mask))
    np.testing.assert_array_equal(theirs, ours)


def test_hard_sigmoid_gate_has_keras3_meaning():
    """Keras 3: clip(x/6 + 0.5) = 0.7 at 1.2; Keras 2 meant clip(0.2·x + 0.5) = 0.74."""
    config = {"units": 1, "activation": "hard_sigmoid"}
    weights = {**HAND_WEIGHTS, "simple_rnn_cell/recurrent_kernel": np.zeros((1, 1), np.float32)}
    x = np.array([[[1.2]]], dtype=np.float32)
    ours = reference_run("SimpleRNN", config, weights, x)[0]
    np.testing.assert_allclose(ours, [[0.7]], rtol=1e-6)
    layer = keras.layers.SimpleRNN(**config)
    layer.build(x.shape)
    layer.set_weights(list(weights.values()))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), ours, rtol=1e-6)


def test_unknown_cell_class_is_refused():
    config = {"cell": {"class_name": "PeepholeLSTMCell", "config": {"units": 2}}}
    with pytest.raises(UnsupportedModel) as caught:
        run_layer("RNN", config, {}, [X])
    assert caught.value.details == {"class_name": "PeepholeLSTMCell"}
