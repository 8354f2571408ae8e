"""Pooling against Keras: max/average, valid/same, strides, data_format, global keepdims."""

from __future__ import annotations

import numpy as np
import pytest

from app.reference import run_layer
from tests.reference.harness import assert_layer_matches_keras, random_inputs

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
    assert_layer_matches_keras(class_name, config, random_inputs([shape]), randomize=False)


def test_average_pooling_same_excludes_padded_cells():
    x = np.arange(1, 4, dtype=np.float32).reshape(1, 3, 1)
    out = run_layer("AveragePooling1D", {"pool_size": 2, "padding": "same"}, {}, [x])
    # windows [1, 2] and [3, pad]: the padded cell is not counted, so the last mean is 3.
    np.testing.assert_array_equal(out.ravel(), [1.5, 3.0])


ADAPTIVE = [
    ("AdaptiveAveragePooling1D", {"output_size": 3}, (2, 9, 3)),
    ("AdaptiveAveragePooling1D", {"output_size": 4}, (2, 10, 3)),
    ("AdaptiveMaxPooling1D", {"output_size": 5, "data_format": "channels_first"}, (2, 3, 7)),
    ("AdaptiveMaxPooling1D", {"output_size": 6}, (1, 4, 2)),
    ("AdaptiveAveragePooling2D", {"output_size": (3, 2)}, (2, 7, 5, 3)),
    ("AdaptiveAveragePooling2D", {"output_size": 4, "data_format": "channels_first"}, (1, 2, 9, 6)),
    ("AdaptiveMaxPooling2D", {"output_size": 3}, (2, 8, 7, 2)),
    ("AdaptiveMaxPooling2D", {"output_size": (5, 3)}, (1, 3, 4, 2)),
    ("AdaptiveAveragePooling2D", {"output_size": (1, 1)}, (1, 3, 4, 2)),
    ("AdaptiveAveragePooling3D", {"output_size": (2, 3, 2)}, (1, 5, 7, 4, 2)),
    ("AdaptiveMaxPooling3D", {"output_size": 2, "data_format": "channels_first"}, (1, 2, 5, 3, 4)),
]


@pytest.mark.parametrize(
    ("class_name", "config", "shape"),
    ADAPTIVE,
    ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(ADAPTIVE)],
)
def test_adaptive_pooling_matches_keras(class_name, config, shape):
    assert_layer_matches_keras(class_name, config, random_inputs([shape]), randomize=False)


def test_adaptive_average_pooling_overlaps_windows():
    x = np.arange(1, 6, dtype=np.float32).reshape(1, 5, 1)
    out = run_layer("AdaptiveAveragePooling1D", {"output_size": 2}, {}, [x])
    # windows [⌊0·5/2⌋, ⌈5/2⌉) = [0, 3) and [⌊5/2⌋, 5) = [2, 5) share the middle cell
    np.testing.assert_array_equal(out.ravel(), [2.0, 4.0])


def test_adaptive_max_pooling_to_one_is_the_global_maximum():
    # Keras' TensorFlow backend dies with SIGFPE on this config (a window longer than the
    # axis), so the expected value is worked out by hand.
    x = np.array([3, 1, 4, 1, 5], dtype=np.float32).reshape(1, 5, 1)
    out = run_layer("AdaptiveMaxPooling1D", {"output_size": 1}, {}, [x])
    np.testing.assert_array_equal(out, [[[5.0]]])
