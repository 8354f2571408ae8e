"""Convolutions against Keras: strides, padding, dilation, groups, data_format, bias."""

from __future__ import annotations

import pytest

from tests.reference.harness import assert_layer_matches_keras, random_inputs

CONV = [
    ("Conv1D", {"filters": 4, "kernel_size": 3}, (2, 9, 3)),
    (
        "Conv1D",
        {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2},
        (2, 9, 3),
    ),
    ("Conv1D", {"filters": 4, "kernel_size": 2, "strides": 2, "padding": "same"}, (2, 9, 3)),
    ("Conv1D", {"filters": 6, "kernel_size": 3, "groups": 3, "use_bias": False}, (2, 8, 6)),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "data_format": "channels_first"}, (2, 3, 9)),
    ("Conv2D", {"filters": 5, "kernel_size": 3}, (2, 7, 8, 3)),
    (
        "Conv2D",
        {"filters": 5, "kernel_size": (3, 2), "strides": (2, 1), "padding": "same"},
        (2, 7, 8, 3),
    ),
    (
        "Conv2D",
        {"filters": 5, "kernel_size": 3, "dilation_rate": 2, "padding": "same"},
        (1, 9, 9, 3),
    ),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "groups": 2, "activation": "relu"}, (2, 6, 6, 4)),
    ("Conv2D", {"filters": 4, "kernel_size": 1, "strides": 2}, (2, 7, 7, 3)),
    ("Conv2D", {"filters": 4, "kernel_size": 1, "groups": 2, "use_bias": False}, (1, 5, 5, 6)),
    (
        "Conv2D",
        {"filters": 4, "kernel_size": 4, "strides": 3, "padding": "same", "activation": "tanh"},
        (1, 10, 11, 2),
    ),
    (
        "Conv2D",
        {"filters": 4, "kernel_size": 3, "padding": "same", "data_format": "channels_first"},
        (2, 3, 6, 5),
    ),
    ("Conv3D", {"filters": 3, "kernel_size": 2}, (1, 4, 5, 4, 2)),
    ("Conv3D", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, (1, 5, 5, 6, 2)),
]

TRANSPOSE = [
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2}, (2, 5, 2)),
    (
        "Conv1DTranspose",
        {"filters": 3, "kernel_size": 4, "strides": 2, "padding": "same"},
        (2, 5, 2),
    ),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 3, "dilation_rate": 2}, (1, 6, 2)),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2}, (2, 4, 5, 3)),
    (
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"},
        (2, 4, 5, 3),
    ),
    (
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": 2, "strides": 3, "padding": "valid"},
        (1, 3, 3, 2),
    ),
    (
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1},
        (1, 4, 4, 2),
    ),
    (
        "Conv2DTranspose",
        {
            "filters": 4,
            "kernel_size": 3,
            "strides": 2,
            "padding": "valid",
            "output_padding": 1,
            "use_bias": False,
        },
        (1, 4, 4, 2),
    ),
    (
        "Conv2DTranspose",
        {"filters": 2, "kernel_size": 3, "strides": 2, "data_format": "channels_first"},
        (1, 3, 4, 4),
    ),
    (
        "Conv3DTranspose",
        {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same"},
        (1, 3, 3, 2, 2),
    ),
]

DEPTHWISE = [
    ("DepthwiseConv2D", {"kernel_size": 3}, (2, 6, 7, 3)),
    (
        "DepthwiseConv2D",
        {"kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2},
        (2, 7, 7, 3),
    ),
    (
        "DepthwiseConv2D",
        {
            "kernel_size": 3,
            "dilation_rate": 2,
            "padding": "same",
            "use_bias": False,
            "activation": "relu6",
        },
        (1, 8, 8, 2),
    ),
    ("DepthwiseConv2D", {"kernel_size": 3, "data_format": "channels_first"}, (1, 2, 6, 6)),
    ("DepthwiseConv1D", {"kernel_size": 3, "depth_multiplier": 3}, (2, 8, 2)),
    ("DepthwiseConv1D", {"kernel_size": 2, "strides": 2, "padding": "same"}, (2, 7, 3)),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3}, (2, 6, 6, 3)),
    (
        "SeparableConv2D",
        {
            "filters": 4,
            "kernel_size": 3,
            "strides": 2,
            "padding": "same",
            "depth_multiplier": 2,
            "activation": "swish",
        },
        (1, 7, 8, 3),
    ),
    (
        "SeparableConv2D",
        {"filters": 4, "kernel_size": 3, "data_format": "channels_first", "use_bias": False},
        (1, 3, 6, 6),
    ),
    ("SeparableConv1D", {"filters": 4, "kernel_size": 3, "dilation_rate": 2}, (2, 9, 3)),
]


def _ids(cases):
    return [f"{cls}-{i}" for i, (cls, _, _) in enumerate(cases)]


@pytest.mark.parametrize(("class_name", "config", "shape"), CONV, ids=_ids(CONV))
def test_conv_matches_keras(class_name, config, shape):
    assert_layer_matches_keras(class_name, config, random_inputs([shape]))


@pytest.mark.parametrize(("class_name", "config", "shape"), TRANSPOSE, ids=_ids(TRANSPOSE))
def test_conv_transpose_matches_keras(class_name, config, shape):
    assert_layer_matches_keras(class_name, config, random_inputs([shape]))


@pytest.mark.parametrize(("class_name", "config", "shape"), DEPTHWISE, ids=_ids(DEPTHWISE))
def test_depthwise_and_separable_match_keras(class_name, config, shape):
    assert_layer_matches_keras(class_name, config, random_inputs([shape]))
