"""Normalization layers against Keras, and the BatchNormalization seed case."""

from __future__ import annotations

import numpy as np
import pytest

from app.reference import run_layer
from tests.reference.harness import (
    TOLERANCE,
    assert_layer_matches_keras,
    keras_call,
    keras_layer,
    named_weights,
    random_inputs,
)
from tests.support.kerasref import keras
from tests.support.models import SEED_INPUT, randomize_weights

SEED_INFERENCE = [[0.0, 0.9995004], [1.9990008, 2.9985013]]
SEED_TRAINING = [[-0.9995, -0.9995], [0.9995, 0.9995]]

NORMALIZATION = [
    ("BatchNormalization", {}, (4, 6)),
    ("BatchNormalization", {"axis": 1, "epsilon": 1e-5}, (3, 4, 5, 2)),
    ("BatchNormalization", {"center": False}, (4, 3, 3, 5)),
    ("BatchNormalization", {"scale": False, "center": False}, (4, 5)),
    ("LayerNormalization", {}, (3, 5, 6)),
    ("LayerNormalization", {"axis": [1, 2], "epsilon": 1e-6}, (3, 4, 5)),
    ("LayerNormalization", {"center": False, "scale": False}, (3, 7)),
    ("GroupNormalization", {"groups": 2}, (2, 4, 6)),
    ("GroupNormalization", {"groups": 3, "axis": 1, "center": False}, (2, 6, 4, 4)),
    ("GroupNormalization", {"groups": -1}, (2, 5, 4)),
    ("UnitNormalization", {}, (3, 6)),
    ("UnitNormalization", {"axis": [1, 2]}, (3, 4, 5)),
    ("RMSNormalization", {}, (3, 4, 6)),
    ("RMSNormalization", {"axis": [-2, -1], "epsilon": 1e-3}, (3, 4, 6)),
    ("LayerScale", {"init_values": 1e-6, "projection_dim": 6}, (2, 3, 3, 6)),
]


@pytest.mark.parametrize(
    ("class_name", "config", "shape"),
    NORMALIZATION,
    ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(NORMALIZATION)],
)
@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
def test_normalization_matches_keras(class_name, config, shape, training):
    assert_layer_matches_keras(class_name, config, random_inputs([shape]), training=training)


def test_batchnorm_frozen_layer_uses_moving_statistics_in_training_mode():
    assert_layer_matches_keras(
        "BatchNormalization", {"trainable": False}, random_inputs([(4, 3)]), training=True
    )


def _fresh_seed_bn(training: bool):
    layer = keras_layer("BatchNormalization", {"axis": 1})
    expected = keras_call(layer, [SEED_INPUT], training=training)
    return named_weights(layer), expected


@pytest.mark.parametrize(
    ("training", "numbers"),
    [(False, SEED_INFERENCE), (True, SEED_TRAINING)],
    ids=["inference", "training"],
)
def test_batchnorm_seed_case_gives_the_documented_numbers(training, numbers):
    weights, expected = _fresh_seed_bn(training)
    ours = run_layer("BatchNormalization", {"axis": 1}, weights, [SEED_INPUT], training)
    np.testing.assert_allclose(ours, numbers, rtol=0, atol=1e-6)
    np.testing.assert_allclose(expected, numbers, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
def test_batchnorm_under_a_mask_matches_keras(training):
    """After Embedding(mask_zero=True): in training, the batch statistics come from the kept
    steps only; at inference the mask changes nothing."""
    x = random_inputs([(2, 4, 3)])[0]
    mask = np.array([[1, 1, 0, 0], [1, 0, 1, 0]], dtype=bool)
    layer = keras_layer("BatchNormalization", {})
    layer(x)  # builds the weights
    randomize_weights(layer, seed=1)
    expected = keras.ops.convert_to_numpy(layer(x, training=training, mask=mask))
    weights = named_weights(layer)
    ours = run_layer("BatchNormalization", {}, weights, [x], training=training, masks=[mask])
    np.testing.assert_allclose(ours, expected, **TOLERANCE)
    unmasked = keras.ops.convert_to_numpy(layer(x, training=training))
    assert np.allclose(unmasked, expected) != training  # the mask matters only in training
