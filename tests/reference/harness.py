"""Run one Keras layer and the reference forward on the same seeded inputs and weights.

Only tests import this (it imports keras through tests.support.kerasref).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from app.reference import run_layer
from tests.support import kerasref
from tests.support.kerasref import keras
from tests.support.models import randomize_weights

# One tolerance for every comparison: float32 arithmetic on values of order 1.
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


def keras_layer(class_name: str, config: dict[str, Any]) -> Any:
    """`class_name.from_config(config)`; ConvNeXt's layers come from the application module."""
    if class_name in ("LayerScale", "StochasticDepth"):
        from keras.src.applications import convnext

        return getattr(convnext, class_name).from_config(dict(config))
    return getattr(keras.layers, class_name).from_config(dict(config))


def random_inputs(shapes: list[tuple[int, ...]], seed: int = 0) -> list[np.ndarray]:
    """Seeded float32 inputs drawn from Normal(0, 1)."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape).astype(np.float32) for shape in shapes]


def named_weights(layer: Any) -> dict[str, np.ndarray]:
    """The layer's weights keyed by their Keras name (the last part of `weight.path`).

    Eager layers built in one process number unnamed variables (`variable_1`); the `_1` is
    dropped so the name is the one a saved file uses (`variable`).
    """
    return {
        re.sub(r"_\d+$", "", w.path.rsplit("/", 1)[-1]): np.asarray(w.numpy())
        for w in layer.weights
    }


def keras_call(layer: Any, inputs: list[np.ndarray], training: bool = False) -> np.ndarray:
    """Call the layer eagerly on one input or a list of inputs (the same way on every CPU:
    tests.support.kerasref.call); a NumPy result."""
    arg = inputs[0] if len(inputs) == 1 else list(inputs)
    return keras.ops.convert_to_numpy(kerasref.call(layer, arg, training=training))


def keras_side(
    class_name: str,
    config: dict[str, Any],
    inputs: list[np.ndarray],
    training: bool = False,
    randomize: bool = True,
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, Any]]:
    """Keras' output, its (randomized) weights by name, and its full `get_config()`."""
    keras.utils.set_random_seed(0)
    layer = keras_layer(class_name, config)
    keras_call(layer, inputs, training)  # builds the weights
    if randomize:
        randomize_weights(layer, seed=1)
    return keras_call(layer, inputs, training), named_weights(layer), layer.get_config()


def compare(
    class_name: str,
    config: dict[str, Any],
    inputs: list[np.ndarray],
    training: bool = False,
    randomize: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """(ours, keras') for the layer, with Keras' randomized weights handed to the reference.

    The reference runs twice, on `config` as given (defaults left out) and on the layer's
    full `get_config()`; both must agree exactly.
    """
    expected, weights, full_config = keras_side(class_name, config, inputs, training, randomize)
    ours = run_layer(class_name, config, weights, inputs, training)
    full = run_layer(class_name, full_config, weights, inputs, training)
    np.testing.assert_array_equal(full, ours)
    return ours, expected


def assert_layer_matches_keras(
    class_name: str,
    config: dict[str, Any],
    inputs: list[np.ndarray],
    training: bool = False,
    randomize: bool = True,
) -> np.ndarray:
    """Assert the reference equals Keras within TOLERANCE, same shape and dtype."""
    ours, expected = compare(class_name, config, inputs, training, randomize)
    assert ours.shape == expected.shape
    assert ours.dtype == expected.dtype, (ours.dtype, expected.dtype)
    np.testing.assert_allclose(ours, expected, **TOLERANCE)
    return ours
