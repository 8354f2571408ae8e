"""Pooling against Keras: max/average, valid/same, strides, data_format, global keepdims."""

from __future__ import annotations

import numpy as np
import pytest

from app.reference import run_layer
from tests.reference.harness import assert_matches_keras, random_inputs

POOLING = [
    ("MaxPooling1D", {"pool_size": 3, "strides": 2}, (2, 9, 3)),
    ("MaxPooling1D", {"pool_size": 2, "padding": "same"}, (2, 9, 3)),
    ("AveragePooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 8, 3)),
    ("AveragePooling1D", {"pool_size": 2, "data_format": "channels_first"}, (2, 3, 8)),
    ("MaxPooling2D", {}, (2, 6, 7, 3)),
    ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 8, 3)),
    (
        "MaxPooling2D",
        {"pool_size": (2, 3), "strides": 1, "data_format": "channels_first"},
        (1, 2, 5, 6),
    ),
    ("AveragePooling2D", {"pool_size": 3, "strides": 2}, (2, 7, 7, 3)),
    ("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 8, 3)),
    ("AveragePooling2D", {"pool_size": 2, "strides": 1, "padding": "same"}, (1, 5, 5, 2)),
    ("MaxPooling3D", {"pool_size": 2}, (1, 4, 4, 4, 2)),
    ("AveragePooling3D", {"pool_size": 2, "strides": 2, "padding": "same"}, (1, 5, 3, 4, 2)),
    ("GlobalAveragePooling1D", {}, (2, 5, 3)),
    ("GlobalAveragePooling1D", {"keepdims": True, "data_format": "channels_first"}, (2, 3, 5)),
    ("GlobalMaxPooling1D", {}, (2, 5, 3)),
    ("GlobalAveragePooling2D", {}, (2, 4, 5, 3)),
    ("GlobalAveragePooling2D", {"keepdims": True}, (2, 4, 5, 3)),
    ("GlobalMaxPooling2D", {"data_format": "channels_first", "keepdims": True}, (2, 3, 4, 5)),
    ("GlobalAveragePooling3D", {}, (1, 3, 4, 2, 3)),
    ("GlobalMaxPooling3D", {"keepdims": True}, (1, 3, 4, 2, 3)),
]


@pytest.mark.parametrize(
    ("class_name", "config", "shape"),
    POOLING,
    ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(POOLING)],
)
def test_pooling_matches_keras(class_name, config, shape):
    assert_matches_keras(class_name, config, random_inputs([shape]), randomize=False)


def test_average_pooling_same_excludes_padded_cells():
    x = np.arange(1, 4, dtype=np.float32).reshape(1, 3, 1)
    out = run_layer("AveragePooling1D", {"pool_size": 2, "padding": "same"}, {}, [x])
    # windows [1, 2] and [3, pad]: the padded cell is not counted, so the last mean is 3.
    np.testing.assert_array_equal(out.ravel(), [1.5, 3.0])
