"""Padding, cropping, upsampling and reshaping layers against Keras."""

from __future__ import annotations

import numpy as np
import pytest

from app.reference import run_layer
from tests.reference.harness import assert_layer_matches_keras, random_inputs

RESHAPING = [
    ("ZeroPadding1D", {"padding": 2}, (2, 4, 3)),
    ("ZeroPadding1D", {"padding": (1, 3)}, (2, 4, 3)),
    ("ZeroPadding2D", {}, (2, 3, 4, 2)),
    ("ZeroPadding2D", {"padding": ((1, 2), (0, 3))}, (2, 3, 4, 2)),
    ("ZeroPadding2D", {"padding": (2, 1), "data_format": "channels_first"}, (2, 2, 3, 4)),
    ("ZeroPadding3D", {"padding": (1, 2, 0)}, (1, 2, 3, 2, 2)),
    ("Cropping1D", {}, (2, 6, 3)),
    ("Cropping1D", {"cropping": (0, 2)}, (2, 6, 3)),
    ("Cropping2D", {"cropping": ((1, 0), (2, 1))}, (2, 5, 6, 2)),
    ("Cropping2D", {"cropping": 1, "data_format": "channels_first"}, (2, 2, 5, 6)),
    ("Cropping3D", {}, (1, 4, 5, 3, 2)),
    ("UpSampling1D", {"size": 3}, (2, 4, 3)),
    ("UpSampling2D", {}, (2, 3, 4, 2)),
    ("UpSampling2D", {"size": (2, 3), "interpolation": "bilinear"}, (2, 3, 4, 2)),
    (
        "UpSampling2D",
        {"size": 3, "interpolation": "bilinear", "data_format": "channels_first"},
        (1, 2, 4, 3),
    ),
    ("UpSampling2D", {"size": (1, 2), "data_format": "channels_first"}, (1, 2, 3, 3)),
    ("UpSampling3D", {"size": (2, 1, 2)}, (1, 2, 3, 2, 2)),
    ("Reshape", {"target_shape": (3, -1)}, (2, 6, 2)),
    ("Reshape", {"target_shape": (2, 2, 3)}, (2, 12)),
    ("Flatten", {}, (2, 3, 4, 2)),
    ("Flatten", {"data_format": "channels_first"}, (2, 3, 4, 2)),
    ("Permute", {"dims": (2, 1)}, (2, 3, 4)),
    ("Permute", {"dims": (3, 1, 2)}, (2, 3, 4, 5)),
    ("RepeatVector", {"n": 3}, (2, 4)),
]


@pytest.mark.parametrize(
    ("class_name", "config", "shape"),
    RESHAPING,
    ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(RESHAPING)],
)
def test_reshaping_matches_keras(class_name, config, shape):
    assert_layer_matches_keras(class_name, config, random_inputs([shape]))


def test_bilinear_upsampling_repeats_the_border_and_interpolates_inside():
    x = np.array([0.0, 4.0], dtype=np.float32).reshape(1, 1, 2, 1)
    out = run_layer("UpSampling2D", {"size": 2, "interpolation": "bilinear"}, {}, [x])
    # output columns sample input positions -0.25, 0.25, 0.75, 1.25 (clamped at the edges)
    np.testing.assert_array_equal(out[0, 0, :, 0], [0.0, 1.0, 3.0, 4.0])
