"""Activation layers: the registry's weights and output shapes against what Keras builds."""

from __future__ import annotations

import pytest

from app.layers.registry import lookup
from tests.support.kerascompare import registry_facts
from tests.support.kerasref import layer_facts

ACTIVATION_NAMES = [
    "relu", "sigmoid", "softmax", "tanh", "linear", "gelu", "swish", "silu", "elu", "selu",
    "softplus", "softsign", "hard_sigmoid", "hard_silu", "hard_swish", "relu6", "leaky_relu",
    "mish", "log_softmax", "exponential",
]  # fmt: skip


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_activation_matches_keras(activation):
    config, shapes = {"activation": activation}, [(None, 7, 4)]
    assert registry_facts("Activation", config, shapes) == layer_facts("Activation", config, shapes)


NO_WEIGHT_CASES = [
    ("ReLU", {}, [(None, 5)]),
    ("ReLU", {"max_value": 6.0}, [(None, 8, 8, 3)]),
    ("ReLU", {"max_value": 6.0, "negative_slope": 0.1, "threshold": 0.5}, [(2, 3)]),
    ("LeakyReLU", {}, [(None, 5)]),
    ("LeakyReLU", {"negative_slope": 0.2}, [(None, 4, 3)]),
    ("ELU", {}, [(None, 5)]),
    ("ELU", {"alpha": 0.5}, [(None, None, 3)]),
    ("Softmax", {}, [(None, 5)]),
    ("Softmax", {"axis": 1}, [(None, 4, 3)]),
    ("Softmax", {"axis": [1, 2]}, [(None, 4, 3)]),
]


@pytest.mark.parametrize(("class_name", "config", "shapes"), NO_WEIGHT_CASES)
def test_weightless_activation_layers_match_keras(class_name, config, shapes):
    assert registry_facts(class_name, config, shapes) == layer_facts(class_name, config, shapes)


@pytest.mark.filterwarnings("ignore:Argument `alpha` is deprecated:UserWarning")
def test_leaky_relu_accepts_keras2_alpha():
    config, shapes = {"alpha": 0.1}, [(None, 6)]
    assert registry_facts("LeakyReLU", config, shapes) == layer_facts("LeakyReLU", config, shapes)


PRELU_CASES = [
    ({}, [(None, 5)]),
    ({}, [(None, 4, 3)]),
    ({"shared_axes": [1, 2]}, [(None, 8, 8, 3)]),
    ({"shared_axes": [1]}, [(None, 8, 8, 3)]),
    ({"shared_axes": 1}, [(None, None, 3)]),
    ({"shared_axes": [2, 3]}, [(None, 3, 8, 8)]),
    ({"shared_axes": None}, [(2, 3, 4)]),
]


@pytest.mark.parametrize(("config", "shapes"), PRELU_CASES)
def test_prelu_weights_match_keras(config, shapes):
    assert registry_facts("PReLU", config, shapes) == layer_facts("PReLU", config, shapes)


def test_prelu_alpha_by_hand():
    facts = registry_facts("PReLU", {"shared_axes": [1, 2]}, [(None, 8, 8, 3)])
    assert facts["weights"] == [("alpha", (1, 1, 3), True)]


def test_prelu_refuses_unknown_unshared_axis():
    with pytest.raises(ValueError):
        layer_facts("PReLU", {}, [(None, None, 3)])
    with pytest.raises(ValueError):
        lookup("PReLU").weights({}, [(None, None, 3)])


@pytest.mark.parametrize("shapes", [[(None, 25)], [(None, 4, 4, 3)]])
def test_thresholded_relu_has_no_weights_and_keeps_the_shape(shapes):
    """Keras 2 only (Keras 3 has no such class, so nothing to build here): tf_keras's layer
    makes no weight and returns its input's shape (`compute_output_shape`)."""
    assert registry_facts("ThresholdedReLU", {"theta": 2.0}, shapes) == {
        "weights": [],
        "output_shape": shapes[0],
    }
