"""Core, regularization and preprocessing layers against Keras."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import UnsupportedModel, WeightMismatch
from app.reference import run_layer
from tests.reference.harness import TOLERANCE, assert_layer_matches_keras, keras_side, random_inputs

CORE = [
    ("Dense", {"units": 4}, (3, 5)),
    ("Dense", {"units": 3, "activation": "relu", "use_bias": False}, (2, 3, 5)),
    ("Dense", {"units": 3, "activation": "softmax"}, (4, 5)),
    ("EinsumDense", {"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "c"}, (3, 5)),
    (
        "EinsumDense",
        {
            "equation": "abc,cde->abde",
            "output_shape": (None, 2, 3),
            "bias_axes": "de",
            "activation": "gelu",
        },
        (2, 4, 5),
    ),
    ("EinsumDense", {"equation": "...b,bc->...c", "output_shape": 4}, (2, 3, 5)),
    ("Identity", {}, (2, 3)),
    ("Dropout", {"rate": 0.5}, (2, 3, 4)),
    ("SpatialDropout1D", {"rate": 0.5}, (2, 3, 4)),
    ("SpatialDropout2D", {"rate": 0.5}, (2, 3, 4, 2)),
    ("SpatialDropout3D", {"rate": 0.5}, (2, 3, 4, 2, 2)),
    ("GaussianDropout", {"rate": 0.3}, (2, 5)),
    ("GaussianNoise", {"stddev": 0.3}, (2, 5)),
    ("AlphaDropout", {"rate": 0.3}, (2, 5)),
    ("ActivityRegularization", {"l1": 0.01}, (2, 5)),
    ("StochasticDepth", {"drop_path_rate": 0.5}, (2, 3, 4)),
    ("Rescaling", {"scale": 1 / 255, "offset": -1.0}, (2, 4, 4, 3)),
    ("Rescaling", {"scale": [0.5, 2.0, 3.0], "offset": [0.0, 1.0, -1.0]}, (2, 4, 4, 3)),
    ("Normalization", {"mean": [0.5, -1.0, 2.0], "variance": [4.0, 0.25, 1e-20]}, (3, 2, 3)),
    ("Normalization", {"axis": None, "mean": 0.5, "variance": 2.0}, (3, 4)),
    ("Normalization", {"mean": [1.0, 2.0], "variance": [4.0, 9.0], "invert": True}, (3, 2)),
    ("Normalization", {}, (3, 4)),
    ("Normalization", {"axis": (1, 2)}, (3, 2, 4)),
]


@pytest.mark.parametrize(
    ("class_name", "config", "shape"), CORE, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(CORE)]
)
def test_core_layer_matches_keras(class_name, config, shape):
    assert_layer_matches_keras(class_name, config, random_inputs([shape]))


def test_embedding_looks_up_rows_like_keras():
    ids = np.array([[0, 3, 9, 3], [5, 5, 1, 0]], dtype=np.int32)
    assert_layer_matches_keras("Embedding", {"input_dim": 10, "output_dim": 4}, [ids])


def test_masking_zeroes_masked_timesteps_like_keras():
    (x,) = random_inputs([(2, 5, 3)])
    x[0, 1] = 0.0
    x[1, 3] = 0.0
    x[1, 4, 0] = 0.0  # one zero feature does not mask the timestep
    out = assert_layer_matches_keras("Masking", {"mask_value": 0.0}, [x])
    assert not out[0, 1].any() and out[1, 4, 1] == x[1, 4, 1]


@pytest.mark.parametrize(
    ("class_name", "config"),
    [
        ("Dropout", {"rate": 0.5}),
        ("GaussianNoise", {"stddev": 1.0}),
        ("AlphaDropout", {"rate": 0.5}),
    ],
)
def test_dropout_in_training_mode_is_identity_not_random(class_name, config):
    (x,) = random_inputs([(4, 8)])
    np.testing.assert_array_equal(run_layer(class_name, config, {}, [x], training=True), x)


KERAS2_VARIANTS = [
    ("LeakyReLU", {"alpha": 0.1}, {"negative_slope": 0.1}),
    ("BatchNormalization", {"axis": [1]}, {"axis": 1}),
    (
        "Conv2D",
        {"filters": 2, "kernel_size": [3, 3], "strides": [1, 1], "dilation_rate": [1, 1]},
        {"filters": 2, "kernel_size": 3},
    ),
]


@pytest.mark.parametrize(
    ("class_name", "keras2_config", "config"),
    KERAS2_VARIANTS,
    ids=[c for c, _, _ in KERAS2_VARIANTS],
)
def test_keras2_config_spelling_gives_the_keras3_output(class_name, keras2_config, config):
    inputs = random_inputs([(2, 5, 5, 3)])
    expected, weights, _ = keras_side(class_name, config, inputs)
    ours = run_layer(class_name, keras2_config, weights, inputs)
    np.testing.assert_allclose(ours, expected, **TOLERANCE)


def test_unknown_layer_class_raises_unsupported_model():
    with pytest.raises(UnsupportedModel) as info:
        run_layer("Lambda", {}, {}, random_inputs([(1, 2)]))
    assert info.value.code == "unsupported-model"


def test_layer_object_activation_is_reported_by_class_name():
    spec = {"class_name": "LeakyReLU", "config": {"negative_slope": 0.2}}
    with pytest.raises(UnsupportedModel) as info:
        run_layer(
            "Dense",
            {"units": 2, "activation": spec},
            {"kernel": np.ones((2, 2))},
            random_inputs([(1, 2)]),
        )
    assert info.value.details == {"activation": "LeakyReLU"}


def test_missing_weight_raises_weight_mismatch():
    with pytest.raises(WeightMismatch):
        run_layer("Dense", {"units": 2}, {"bias": np.zeros(2)}, random_inputs([(1, 2)]))
