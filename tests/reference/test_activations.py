"""Every Keras activation, by name, against keras.activations and the activation layers."""

from __future__ import annotations

import numpy as np
import pytest

from app.reference.activations import ACTIVATIONS, get_activation
from tests.reference.harness import TOLERANCE, assert_layer_matches_keras
from tests.support.kerasref import keras

# Boundaries of the piecewise activations, plus a spread of ordinary and large values.
EDGES = [-100.0, -6.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0, 30.0, 100.0]


def sample(shape=(4, 6)) -> np.ndarray:
    rng = np.random.default_rng(3)
    x = (3.0 * rng.normal(size=shape)).astype(np.float32)
    x.flat[: len(EDGES)] = EDGES
    return x


def keras_activation(name, x, **kwargs):
    fn = keras.activations.get(name)
    return keras.ops.convert_to_numpy(fn(x, **kwargs))


def test_every_keras_activation_has_a_reference():
    from keras.src.activations import ALL_OBJECTS_DICT

    names = set(ALL_OBJECTS_DICT)
    assert names <= set(ACTIVATIONS), sorted(names - set(ACTIVATIONS))


@pytest.mark.parametrize("name", sorted(set(ACTIVATIONS) - {"threshold"}))
def test_activation_matches_keras(name):
    x = sample()
    ours = get_activation(name)(x)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, keras_activation(name, x), **TOLERANCE)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("gelu", {"approximate": True}),
        ("gelu", {"approximate": False}),
        ("relu", {"negative_slope": 0.1, "max_value": 4.0, "threshold": 0.5}),
        ("relu", {"max_value": 6.0}),
        ("relu", {"threshold": 1.0}),
        ("leaky_relu", {"negative_slope": 0.05}),
        ("elu", {"alpha": 0.7}),
        ("celu", {"alpha": 2.0}),
        ("softmax", {"axis": 0}),
        ("log_softmax", {"axis": 0}),
        ("threshold", {"threshold": 0.3, "default_value": -1.0}),
        ("squareplus", {"b": 1.0}),
        ("soft_shrink", {"threshold": 1.0}),
        ("hard_shrink", {"threshold": 1.0}),
        ("glu", {"axis": 0}),
        ("sparsemax", {"axis": 0}),
    ],
)
def test_activation_arguments_match_keras(name, kwargs):
    x = sample()
    np.testing.assert_allclose(
        ACTIVATIONS[name](x, **kwargs), keras_activation(name, x, **kwargs), **TOLERANCE
    )


def test_gelu_defaults_to_the_exact_form_like_keras():
    x = sample()
    exact = ACTIVATIONS["gelu"](x, approximate=False)
    np.testing.assert_array_equal(get_activation("gelu")(x), exact)


def test_serialized_function_activation_is_read_by_name():
    spec = {"module": "keras.activations", "class_name": "function", "config": "relu"}
    np.testing.assert_array_equal(get_activation(spec)(sample()), np.maximum(sample(), 0))


LAYERS = [
    ("Activation", {"activation": "gelu"}),
    ("Activation", {"activation": "hard_sigmoid"}),
    ("Activation", {"activation": "softmax"}),
    ("ReLU", {}),
    ("ReLU", {"max_value": 6.0}),
    ("ReLU", {"max_value": 2.5, "negative_slope": 0.2, "threshold": 0.5}),
    ("ReLU", {"negative_slope": 0.1}),
    ("ReLU", {"threshold": 1.5}),
    ("LeakyReLU", {}),
    ("LeakyReLU", {"negative_slope": 0.01}),
    ("ELU", {}),
    ("ELU", {"alpha": 0.5}),
    ("Softmax", {}),
    ("Softmax", {"axis": 1}),
    ("Softmax", {"axis": [1, 2]}),
    ("PReLU", {}),
    ("PReLU", {"shared_axes": [1]}),
]


@pytest.mark.parametrize(
    ("class_name", "config"), LAYERS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(LAYERS)]
)
def test_activation_layer_matches_keras(class_name, config):
    assert_layer_matches_keras(class_name, config, [sample((2, 4, 6))])
