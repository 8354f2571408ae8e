"""Pooling layers: no weights, and output shapes equal to what Keras builds."""

from __future__ import annotations

import keras
import pytest

from app.layers.registry import lookup
from tests.support.kerasref import layer_facts

CF = {"data_format": "channels_first"}

CASES = [
    # MaxPooling
    ("MaxPooling1D", {}, (None, 9, 3)),
    ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (None, 10, 3)),
    ("MaxPooling1D", {"pool_size": [2], "strides": [2], "padding": "valid"}, (None, 7, 2)),
    ("MaxPooling1D", {"pool_size": 3, "strides": 1, **CF}, (None, 2, 7)),
    ("MaxPooling1D", {"pool_size": 2}, (None, None, 3)),
    ("MaxPooling2D", {}, (None, 7, 9, 3)),
    ("MaxPooling2D", {"pool_size": (3, 2), "strides": (1, 2)}, (None, 7, 9, 3)),
    ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same", **CF}, (None, 3, 7, 8)),
    (
        "MaxPooling2D",
        {"pool_size": [2, 2], "padding": "valid", "strides": [2, 2]},
        (None, 5, None, 1),
    ),
    ("MaxPooling3D", {}, (None, 5, 6, 7, 2)),
    ("MaxPooling3D", {"pool_size": 3, "strides": 2, "padding": "same", **CF}, (None, 2, 5, 6, 7)),
    # AveragePooling
    ("AveragePooling1D", {"pool_size": 2}, (None, 9, 3)),
    ("AveragePooling1D", {"pool_size": 4, "strides": 3, "padding": "same", **CF}, (None, 3, 11)),
    ("AveragePooling2D", {"pool_size": (2, 3)}, (None, 7, 9, 3)),
    ("AveragePooling2D", {"pool_size": 3, "strides": (2, 1), "padding": "same"}, (None, 7, 9, 3)),
    ("AveragePooling2D", {"pool_size": 2, "strides": 1, **CF}, (None, 3, 4, 5)),
    ("AveragePooling3D", {"pool_size": (1, 2, 3)}, (None, 5, 6, 7, 2)),
    (
        "AveragePooling3D",
        {"pool_size": 2, "strides": 3, "padding": "same", **CF},
        (None, 2, 5, 6, 7),
    ),
    # Short names
    ("MaxPool1D", {"pool_size": 3}, (None, 9, 3)),
    ("MaxPool2D", {"pool_size": 2, **CF}, (None, 3, 5, 5)),
    ("MaxPool3D", {"pool_size": 2, "padding": "same"}, (None, 3, 3, 3, 1)),
    ("AvgPool1D", {"pool_size": 2, "strides": 1}, (None, 9, 3)),
    ("AvgPool2D", {"pool_size": 3}, (None, 7, 8, 2)),
    ("AvgPool3D", {"pool_size": 2}, (None, 4, 5, 6, 1)),
    # Global pooling
    ("GlobalMaxPooling1D", {}, (None, 9, 3)),
    ("GlobalMaxPooling1D", {"keepdims": True, **CF}, (None, 3, 9)),
    ("GlobalMaxPooling2D", {"keepdims": True}, (None, 5, 6, 3)),
    ("GlobalMaxPooling2D", {**CF}, (None, 3, None, None)),
    ("GlobalMaxPooling3D", {"keepdims": True, **CF}, (None, 2, 3, 4, 5)),
    ("GlobalAveragePooling1D", {"keepdims": True}, (None, None, 4)),
    ("GlobalAveragePooling2D", {"data_format": "channels_last"}, (None, 7, 7, 16)),
    ("GlobalAveragePooling2D", {"keepdims": True, **CF}, (None, 16, 7, 7)),
    ("GlobalAveragePooling3D", {}, (None, 2, 3, 4, 5)),
    ("GlobalMaxPool1D", {"keepdims": True}, (None, 9, 3)),
    ("GlobalMaxPool2D", {}, (None, 5, 6, 3)),
    ("GlobalMaxPool3D", {**CF}, (None, 2, 3, 4, 5)),
    ("GlobalAvgPool1D", {**CF}, (None, 3, 9)),
    ("GlobalAvgPool2D", {"keepdims": True}, (None, 5, 6, 3)),
    ("GlobalAvgPool3D", {"keepdims": True}, (None, 2, 3, 4, 5)),
    # Adaptive pooling
    ("AdaptiveAveragePooling1D", {"output_size": 4}, (None, 9, 3)),
    ("AdaptiveAveragePooling1D", {"output_size": [3], **CF}, (None, 3, 10)),
    ("AdaptiveAveragePooling2D", {"output_size": (2, 3)}, (None, 7, 9, 3)),
    ("AdaptiveAveragePooling2D", {"output_size": 5, **CF}, (None, 3, 10, 11)),
    ("AdaptiveAveragePooling3D", {"output_size": 2}, (None, 4, 5, 6, 2)),
    ("AdaptiveMaxPooling1D", {"output_size": 2, **CF}, (None, 3, 8)),
    ("AdaptiveMaxPooling2D", {"output_size": 3}, (None, 9, 9, 1)),
    ("AdaptiveMaxPooling3D", {"output_size": (1, 2, 3), **CF}, (None, 2, 4, 5, 6)),
]


def _case_id(case) -> str:
    class_name, config, shape = case
    settings = ",".join(f"{k}={v}" for k, v in config.items())
    return f"{class_name}[{settings}]{shape}"


@pytest.mark.parametrize(("class_name", "config", "shape"), CASES, ids=map(_case_id, CASES))
def test_weights_and_output_shape_match_keras(class_name, config, shape):
    expected = layer_facts(class_name, config, [shape])
    entry = lookup(class_name)
    assert expected["weights"] == []
    assert entry.weights(config, [shape]) == []
    assert entry.output_shape(config, [shape]) == expected["output_shape"]


@pytest.mark.parametrize(
    ("class_name", "config", "shape"),
    [
        ("MaxPooling1D", {"pool_size": 4}, (None, 3, 2)),
        ("AveragePooling2D", {"pool_size": (2, 5)}, (None, 6, 4, 2)),
        ("MaxPooling2D", {"pool_size": 2}, (None, 6, 2)),
        ("GlobalAveragePooling2D", {}, (None, 6, 2)),
    ],
    ids=["window-longer-than-input", "one-axis-too-short", "window-rank", "global-rank"],
)
def test_invalid_input_is_rejected_like_keras(class_name, config, shape):
    with pytest.raises(ValueError):
        layer_facts(class_name, config, [shape])
    with pytest.raises(ValueError):
        lookup(class_name).output_shape(config, [shape])


def test_every_keras_pooling_class_and_alias_is_registered():
    names = [
        name
        for name in dir(keras.layers)
        if isinstance(getattr(keras.layers, name), type)
        and getattr(keras.layers, name).__module__.startswith("keras.src.layers.pooling.")
    ]
    assert len(names) == 30
    for name in names:
        entry = lookup(name)
        assert entry is not None, name
        assert entry.family == "pooling"
        assert getattr(keras.layers, entry.class_name) is getattr(keras.layers, name)
