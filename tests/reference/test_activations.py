"""Every Keras activation, by name, against keras.activations and the activation layers."""

from __future__ import annotations

import numpy as np
import pytest

from app.reference.activations import ACTIVATIONS, get_activation
from app.reference.forwards import run_layer
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


# ThresholdedReLU (Keras 2, tf.keras): x · cast(x > theta), theta cast to float32 first
# (tf_keras/src/layers/activation/thresholded_relu.py). Keras 3 has no such class.


def thresholded(x: np.ndarray, theta: float) -> np.ndarray:
    return run_layer("ThresholdedReLU", {"theta": theta}, {}, [x])


def test_thresholded_relu_by_hand():
    x = np.array([[-3.0, -0.5, 0.0, 1.0, 1.5, 2.0, 2.5, 7.0]], np.float32)
    out = thresholded(x, 2.0)
    assert out.dtype == np.float32
    # Worked out: kept only where x > 2 (2.0 itself gives 0), zero elsewhere (−0 below 0).
    np.testing.assert_array_equal(out, [[0, 0, 0, 0, 0, 0, 2.5, 7.0]])
    assert np.signbit(out[0, :2]).all() and not np.signbit(out[0, 2])
    # theta's default is 1.0: 1.0 gives 0, 1.5 stays.
    np.testing.assert_array_equal(
        run_layer("ThresholdedReLU", {}, {}, [x]), [[0, 0, 0, 0, 1.5, 2.0, 2.5, 7.0]]
    )


def test_thresholded_relu_compares_in_float32_as_tf_keras():
    """theta = 0.1 is float32(0.1) = 0.10000000149… in tf.keras: an input of float32(0.1)
    is not above it (in float64, 0.10000000149 > 0.1 would keep it)."""
    x = np.array([np.float32(0.1), np.nextafter(np.float32(0.1), np.float32(1))], np.float32)
    np.testing.assert_array_equal(thresholded(x, 0.1), [0.0, x[1]])


def test_thresholded_relu_equals_keras3_relu_with_its_threshold_on_every_finite_input():
    """The check's Keras 3 copy runs a ThresholdedReLU as ReLU(threshold=theta): the same
    numbers, x = theta exactly included; NaN and −inf are where they part."""
    for theta in (0.0, 0.1, 2.0):
        x = sample()
        x.flat[-3:] = [theta, np.float32(theta), -theta]
        relu = keras.layers.ReLU(threshold=theta)
        np.testing.assert_array_equal(thresholded(x, theta), keras.ops.convert_to_numpy(relu(x)))
    x = np.array([np.nan, -np.inf], np.float32)
    assert np.isnan(thresholded(x, 2.0)).all()
    assert (keras.ops.convert_to_numpy(keras.layers.ReLU(threshold=2.0)(x)) == 0).all()
