"""ConvLSTM1D/2D/3D against Keras: padding, strides, dilation, data_format, bias, activations,
return_sequences, return_state, go_backwards, initial states."""

from __future__ import annotations

import numpy as np
import pytest

from app.reference import run_layer
from tests.reference.calls import assert_call_matches_keras, keras_outputs
from tests.reference.harness import TOLERANCE, assert_layer_matches_keras, random_inputs

CONV_LSTM = [
    ("ConvLSTM1D", {"filters": 3, "kernel_size": 3}, (2, 4, 7, 2)),
    ("ConvLSTM1D", {"filters": 3, "kernel_size": 2, "padding": "same", "strides": 2}, (2, 3, 7, 2)),
    (
        "ConvLSTM1D",
        {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "return_sequences": True},
        (1, 3, 9, 2),
    ),
    ("ConvLSTM2D", {"filters": 3, "kernel_size": 3}, (2, 3, 6, 5, 2)),
    (
        "ConvLSTM2D",
        {"filters": 2, "kernel_size": (3, 2), "padding": "same", "return_sequences": True},
        (2, 4, 5, 5, 3),
    ),
    (
        "ConvLSTM2D",
        {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "use_bias": False},
        (1, 3, 7, 6, 2),
    ),
    (
        "ConvLSTM2D",
        {"filters": 3, "kernel_size": 2, "data_format": "channels_first", "return_sequences": True},
        (2, 3, 2, 5, 4),
    ),
    (
        "ConvLSTM2D",
        {"filters": 2, "kernel_size": 3, "go_backwards": True, "return_sequences": True},
        (1, 4, 5, 5, 2),
    ),
    (
        "ConvLSTM2D",
        {
            "filters": 2,
            "kernel_size": 3,
            "activation": "relu",
            "recurrent_activation": "hard_sigmoid",
        },
        (2, 3, 5, 5, 2),
    ),
    ("ConvLSTM3D", {"filters": 2, "kernel_size": 2}, (1, 3, 3, 4, 4, 2)),
    ("ConvLSTM3D", {"filters": 2, "kernel_size": 3, "padding": "same"}, (1, 2, 3, 4, 3, 1)),
]

STATES = [
    ("ConvLSTM1D", {"filters": 2, "kernel_size": 3, "return_state": True}, (2, 3, 6, 2)),
    (
        "ConvLSTM2D",
        {"filters": 2, "kernel_size": 2, "return_sequences": True, "return_state": True},
        (1, 3, 4, 5, 2),
    ),
    (
        "ConvLSTM2D",
        {"filters": 2, "kernel_size": 3, "return_state": True, "data_format": "channels_first"},
        (1, 3, 2, 5, 5),
    ),
]


def _ids(cases):
    return [f"{c}-{i}" for i, (c, _, _) in enumerate(cases)]


@pytest.mark.parametrize(("class_name", "config", "shape"), CONV_LSTM, ids=_ids(CONV_LSTM))
def test_conv_lstm_matches_keras(class_name, config, shape):
    # weights keyed by role (`kernel`, `recurrent_kernel`, `bias`)
    assert_layer_matches_keras(class_name, config, random_inputs([shape]))


@pytest.mark.parametrize(("class_name", "config", "shape"), STATES, ids=_ids(STATES))
def test_conv_lstm_returned_states_match_keras(class_name, config, shape):
    # weights keyed by the registry's names (`conv_lstm_cell/kernel`, ...)
    assert_call_matches_keras(class_name, config, random_inputs([shape]))


def test_conv_lstm_initial_states_match_keras():
    config = {"filters": 2, "kernel_size": 3, "padding": "same", "return_sequences": True}
    x, h0, c0 = random_inputs([(2, 3, 5, 4, 3), (2, 5, 4, 2), (2, 5, 4, 2)])
    kwargs = {"initial_state": [h0, c0]}
    (expected,), weights, _ = keras_outputs("ConvLSTM2D", config, [x], call_kwargs=kwargs)
    ours = run_layer("ConvLSTM2D", config, weights, [x, h0, c0])
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, **TOLERANCE)
