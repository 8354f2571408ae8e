"""Reshaping layers: no weights, and output shapes equal to what Keras builds."""

from __future__ import annotations

import keras
import pytest

from app.layers.registry import lookup
from tests.support.kerasref import layer_facts

CF = {"data_format": "channels_first"}

CASES = [
    # ZeroPadding
    ("ZeroPadding1D", {}, (None, 5, 3)),
    ("ZeroPadding1D", {"padding": 2}, (None, 5, 3)),
    ("ZeroPadding1D", {"padding": [1, 3]}, (None, None, 3)),
    ("ZeroPadding1D", {"padding": (0, 2), **CF}, (None, 3, 5)),
    ("ZeroPadding2D", {}, (None, 4, 5, 3)),
    ("ZeroPadding2D", {"padding": 2}, (None, 4, 5, 3)),
    ("ZeroPadding2D", {"padding": (1, 2)}, (None, 4, 5, 3)),
    (
        "ZeroPadding2D",
        {"padding": [[0, 1], [0, 1]], "data_format": "channels_last"},
        (None, 9, 9, 3),
    ),
    ("ZeroPadding2D", {"padding": ((1, 2), (3, 0)), **CF}, (None, 3, 4, None)),
    ("ZeroPadding3D", {}, (None, 2, 3, 4, 1)),
    ("ZeroPadding3D", {"padding": (1, 2, 0)}, (None, 2, 3, 4, 1)),
    ("ZeroPadding3D", {"padding": ((1, 0), (0, 2), (3, 1)), **CF}, (None, 1, 2, 3, 4)),
    # Cropping
    ("Cropping1D", {}, (None, 5, 3)),
    ("Cropping1D", {"cropping": (2, 0)}, (None, 5, 3)),
    ("Cropping1D", {"cropping": 1}, (None, None, 3)),
    ("Cropping2D", {}, (None, 4, 5, 3)),
    ("Cropping2D", {"cropping": 1}, (None, 4, 5, 3)),
    ("Cropping2D", {"cropping": (1, 2)}, (None, 4, 7, 3)),
    ("Cropping2D", {"cropping": ((1, 0), (2, 1)), **CF}, (None, 3, 4, 5)),
    ("Cropping2D", {"cropping": [[1, 1], [0, 2]]}, (None, None, 5, 3)),
    ("Cropping3D", {}, (None, 4, 5, 6, 2)),
    ("Cropping3D", {"cropping": (1, 0, 2)}, (None, 4, 5, 6, 2)),
    ("Cropping3D", {"cropping": ((1, 0), (0, 2), (1, 1)), **CF}, (None, 2, 4, 5, 6)),
    # UpSampling
    ("UpSampling1D", {}, (None, 5, 3)),
    ("UpSampling1D", {"size": 3}, (None, None, 3)),
    ("UpSampling2D", {}, (None, 4, 5, 3)),
    ("UpSampling2D", {"size": (2, 3), "interpolation": "bilinear"}, (None, 4, 5, 3)),
    ("UpSampling2D", {"size": [3, 1], **CF}, (None, 3, 4, 5)),
    ("UpSampling3D", {}, (None, 2, 3, 4, 1)),
    ("UpSampling3D", {"size": (1, 2, 3), **CF}, (None, 1, 2, 3, None)),
    # Reshape
    ("Reshape", {"target_shape": (6, 2)}, (None, 3, 4)),
    ("Reshape", {"target_shape": (-1,)}, (None, 3, 4)),
    ("Reshape", {"target_shape": [2, -1, 3]}, (None, 4, 3)),
    ("Reshape", {"target_shape": (-1, 4)}, (None, None, 4)),
    ("Reshape", {"target_shape": (2, 2)}, (None, None, 4)),
    ("Reshape", {"target_shape": (3, 1, -1)}, (2, 6)),
    # Flatten
    ("Flatten", {}, (None, 2, 3, 4)),
    ("Flatten", {**CF}, (None, 2, 3, 4)),
    ("Flatten", {}, (None, None, 3)),
    ("Flatten", {}, (None, 5)),
    ("Flatten", {"data_format": "channels_last"}, (4, 3, 2)),
    # Permute
    ("Permute", {"dims": (2, 1)}, (None, 3, 4)),
    ("Permute", {"dims": [3, 1, 2]}, (None, 2, None, 4)),
    # RepeatVector
    ("RepeatVector", {"n": 3}, (None, 5)),
    ("RepeatVector", {"n": 1}, (2, None)),
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
        ("Cropping1D", {"cropping": (2, 3)}, (None, 5, 3)),
        ("Cropping2D", {"cropping": ((0, 0), (3, 2))}, (None, 4, 5, 3)),
        ("Cropping3D", {"cropping": 2, **CF}, (None, 1, 5, 4, 5)),
        ("Reshape", {"target_shape": (5, 2)}, (None, 3, 4)),
        ("Reshape", {"target_shape": (5, -1)}, (None, 3, 4)),
        ("Reshape", {"target_shape": (-1, -1)}, (None, 3, 4)),
        ("Permute", {"dims": (1, 3)}, (None, 3, 4)),
        ("ZeroPadding2D", {"padding": (1, 2, 3)}, (None, 4, 5, 3)),
        ("UpSampling2D", {}, (None, 4, 3)),
    ],
    ids=[
        "crop-1d-all",
        "crop-2d-all",
        "crop-3d-all",
        "reshape-size",
        "reshape-indivisible",
        "reshape-two-unknowns",
        "permute-dims",
        "padding-entries",
        "up-sampling-rank",
    ],
)
def test_invalid_config_is_rejected_like_keras(class_name, config, shape):
    with pytest.raises((ValueError, TypeError)):  # from_config wraps errors in TypeError
        layer_facts(class_name, config, [shape])
    with pytest.raises(ValueError):
        lookup(class_name).output_shape(config, [shape])


def test_every_keras_reshaping_class_is_registered():
    names = [
        name
        for name in dir(keras.layers)
        if isinstance(getattr(keras.layers, name), type)
        and getattr(keras.layers, name).__module__.startswith("keras.src.layers.reshaping.")
    ]
    assert len(names) == 13
    for name in names:
        entry = lookup(name)
        assert entry is not None, name
        assert entry.family == "reshaping"
