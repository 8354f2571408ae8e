"""Convolution layers: the registry's weights and output shapes against what Keras builds."""

from __future__ import annotations

import keras
import pytest

from app.layers.registry import lookup
from tests.support.kerasref import layer_facts

CF = {"data_format": "channels_first"}

CASES = [
    # Conv1D
    ("Conv1D", {"filters": 4, "kernel_size": 3}, (None, 10, 3)),
    ("Conv1D", {"filters": 4, "kernel_size": 4, "strides": 3}, (None, 13, 3)),
    ("Conv1D", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, (None, 11, 3)),
    (
        "Conv1D",
        {"filters": 3, "kernel_size": 3, "padding": "causal", "dilation_rate": 2},
        (2, 9, 2),
    ),
    ("Conv1D", {"filters": 4, "kernel_size": 2, "use_bias": False, **CF}, (None, 3, 10)),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "groups": 2}, (None, 10, 6)),
    ("Conv1D", {"filters": 6, "kernel_size": 3, "groups": 3, **CF}, (None, 6, 7)),
    (
        "Conv1D",
        {"filters": 4, "kernel_size": [5], "strides": [1], "dilation_rate": [1]},
        (None, None, 3),
    ),
    # Conv2D
    ("Conv2D", {"filters": 4, "kernel_size": 3}, (None, 8, 8, 3)),
    (
        "Conv2D",
        {"filters": 4, "kernel_size": (3, 5), "strides": (2, 1), "padding": "same"},
        (None, 9, 11, 3),
    ),
    ("Conv2D", {"filters": 2, "kernel_size": (2, 3), "dilation_rate": (2, 3)}, (None, 12, 13, 2)),
    ("Conv2D", {"filters": 6, "kernel_size": 3, "groups": 3, **CF}, (None, 6, 7, 7)),
    (
        "Conv2D",
        {"filters": 5, "kernel_size": 3, "strides": 2, "padding": "SAME", **CF},
        (None, 3, 7, 6),
    ),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "strides": 2}, (None, None, 8, 3)),
    (
        "Conv2D",  # a Keras 2 config: lists, groups, activation "linear"
        {
            "filters": 16,
            "kernel_size": [3, 3],
            "strides": [2, 2],
            "padding": "valid",
            "data_format": "channels_last",
            "dilation_rate": [1, 1],
            "groups": 1,
            "activation": "linear",
            "use_bias": False,
        },
        (None, 15, 15, 3),
    ),
    # Conv3D
    ("Conv3D", {"filters": 3, "kernel_size": 2}, (None, 5, 6, 7, 2)),
    (
        "Conv3D",
        {"filters": 3, "kernel_size": 3, "strides": (1, 2, 3), "padding": "same", **CF},
        (None, 2, 5, 7, 8),
    ),
    (
        "Conv3D",
        {"filters": 4, "kernel_size": 2, "groups": 2, "dilation_rate": 2},
        (None, 7, 6, 5, 4),
    ),
    ("Conv3D", {"filters": 1, "kernel_size": (1, 2, 3), "use_bias": False}, (None, 3, None, 4, 1)),
    # Conv1DTranspose
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2}, (None, 5, 3)),
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 1, "strides": 3}, (None, 5, 3)),
    (
        "Conv1DTranspose",
        {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
        (None, 5, 3),
    ),
    (
        "Conv1DTranspose",
        {"filters": 2, "kernel_size": 4, "strides": 3, "output_padding": 2},
        (None, 5, 3),
    ),
    (
        "Conv1DTranspose",
        {"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same", "output_padding": 1},
        (None, 5, 3),
    ),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 3, "dilation_rate": 2, **CF}, (None, 2, 6)),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 3, "use_bias": False}, (None, None, 2)),
    # Conv2DTranspose
    ("Conv2DTranspose", {"filters": 4, "kernel_size": (3, 4), "strides": (2, 3)}, (None, 5, 6, 3)),
    (
        "Conv2DTranspose",
        {
            "filters": 4,
            "kernel_size": (3, 4),
            "strides": (2, 3),
            "padding": "same",
            "output_padding": (1, 0),
        },
        (None, 5, 6, 3),
    ),
    (
        "Conv2DTranspose",
        {"filters": 2, "kernel_size": 3, "strides": 2, "use_bias": False, **CF},
        (None, 3, 4, 5),
    ),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 5, "padding": "same"}, (None, None, 7, 1)),
    # Conv3DTranspose
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 2, "strides": 2}, (None, 3, 4, 5, 2)),
    (
        "Conv3DTranspose",
        {
            "filters": 2,
            "kernel_size": 3,
            "strides": 2,
            "padding": "same",
            "output_padding": (0, 1, 1),
            **CF,
        },
        (None, 2, 3, 4, 5),
    ),
    # DepthwiseConv1D
    ("DepthwiseConv1D", {"kernel_size": 3}, (None, 9, 4)),
    (
        "DepthwiseConv1D",
        {"kernel_size": 3, "depth_multiplier": 2, "strides": 2, "padding": "same"},
        (None, 9, 4),
    ),
    (
        "DepthwiseConv1D",
        {"kernel_size": 2, "depth_multiplier": 3, "dilation_rate": 2, "use_bias": False, **CF},
        (None, 4, 9),
    ),
    # DepthwiseConv2D
    ("DepthwiseConv2D", {"kernel_size": 3}, (None, 8, 8, 3)),
    (
        "DepthwiseConv2D",
        {"kernel_size": (3, 2), "depth_multiplier": 3, "strides": 2, "padding": "same"},
        (None, 9, 8, 2),
    ),
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2, **CF}, (None, 3, 7, 6)),
    (
        "DepthwiseConv2D",
        {"kernel_size": 3, "dilation_rate": 2, "use_bias": False},
        (None, 9, None, 5),
    ),
    # SeparableConv1D
    ("SeparableConv1D", {"filters": 5, "kernel_size": 3, "depth_multiplier": 2}, (None, 10, 3)),
    (
        "SeparableConv1D",
        {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
        (None, 9, 4),
    ),
    (
        "SeparableConv1D",
        {"filters": 3, "kernel_size": 2, "use_bias": False, "dilation_rate": 3, **CF},
        (None, 2, 11),
    ),
    # SeparableConv2D
    (
        "SeparableConv2D",
        {"filters": 4, "kernel_size": (3, 2), "depth_multiplier": 2, "dilation_rate": 2},
        (None, 9, 8, 3),
    ),
    (
        "SeparableConv2D",
        {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", **CF},
        (None, 3, 7, 8),
    ),
    (
        "SeparableConv2D",  # as Keras 2.0.5 wrote it (face_classification Xception)
        {
            "activation": "linear",
            "strides": [1, 1],
            "dilation_rate": [1, 1],
            "use_bias": False,
            "depth_multiplier": 1,
            "data_format": "channels_last",
            "padding": "same",
            "kernel_size": [3, 3],
            "filters": 8,
        },
        (None, 6, 6, 4),
    ),
    # Old names Keras still deserializes
    ("Convolution1D", {"filters": 2, "kernel_size": 3}, (None, 6, 2)),
    ("Convolution2D", {"filters": 2, "kernel_size": 3}, (None, 6, 5, 2)),
    ("Convolution3D", {"filters": 2, "kernel_size": 2}, (None, 3, 3, 3, 2)),
    ("Convolution1DTranspose", {"filters": 2, "kernel_size": 3}, (None, 6, 2)),
    ("Convolution2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2}, (None, 4, 5, 2)),
    ("Convolution3DTranspose", {"filters": 2, "kernel_size": 2}, (None, 3, 3, 3, 2)),
    ("SeparableConvolution1D", {"filters": 2, "kernel_size": 3}, (None, 6, 2)),
    (
        "SeparableConvolution2D",
        {"filters": 2, "kernel_size": 3, "depth_multiplier": 2},
        (None, 6, 5, 2),
    ),
]


def _case_id(case) -> str:
    class_name, config, shape = case
    settings = ",".join(f"{k}={v}" for k, v in config.items() if k not in ("activation",))
    return f"{class_name}[{settings}]{shape}"


def _registry_weights(class_name: str, config: dict, shape: tuple) -> list[tuple]:
    specs = lookup(class_name).weights(config, [shape])
    assert all(spec.owner == "" for spec in specs)
    return [(spec.name, tuple(spec.shape), spec.trainable) for spec in specs]


@pytest.mark.parametrize(("class_name", "config", "shape"), CASES, ids=map(_case_id, CASES))
def test_weights_and_output_shape_match_keras(class_name, config, shape):
    expected = layer_facts(class_name, config, [shape])
    assert _registry_weights(class_name, config, shape) == expected["weights"]
    assert lookup(class_name).output_shape(config, [shape]) == expected["output_shape"]


def test_depthwise_conv2d_accepts_keras2_groups():
    # Keras 2 wrote `groups: 1` into DepthwiseConv2D configs; Keras 3 refuses the key.
    keras2 = {
        "kernel_size": [3, 3],
        "strides": [1, 1],
        "padding": "same",
        "groups": 1,
        "dilation_rate": [1, 1],
        "depth_multiplier": 1,
        "use_bias": False,
    }
    keras3 = {k: v for k, v in keras2.items() if k != "groups"}
    expected = layer_facts("DepthwiseConv2D", keras3, [(None, 7, 7, 16)])
    assert _registry_weights("DepthwiseConv2D", keras2, (None, 7, 7, 16)) == expected["weights"]
    output = lookup("DepthwiseConv2D").output_shape(keras2, [(None, 7, 7, 16)])
    assert output == expected["output_shape"] == (None, 7, 7, 16)


@pytest.mark.parametrize(
    ("class_name", "roles"),
    [
        ("Conv2D", ["kernel", "bias"]),
        ("Conv2DTranspose", ["kernel", "bias"]),
        ("DepthwiseConv2D", ["depthwise_kernel", "bias"]),
        ("SeparableConv2D", ["depthwise_kernel", "pointwise_kernel", "bias"]),
    ],
)
def test_weights_carry_keras_roles(class_name, roles):
    config = {"filters": 4, "kernel_size": 3}
    specs = lookup(class_name).weights(config, [(None, 6, 6, 2)])
    assert [spec.role for spec in specs] == roles


@pytest.mark.parametrize(
    ("class_name", "config", "shape"),
    [
        ("Conv1D", {"filters": 2, "kernel_size": 5}, (None, 4, 3)),
        ("Conv2D", {"filters": 2, "kernel_size": 3, "dilation_rate": 3}, (None, 6, 9, 3)),
        ("Conv2D", {"filters": 2, "kernel_size": 3, "padding": "causal"}, (None, 6, 6, 3)),
        ("Conv2D", {"filters": 4, "kernel_size": 1, "groups": 2}, (None, 6, 6, 3)),
        ("Conv2D", {"filters": 5, "kernel_size": 1, "groups": 2}, (None, 6, 6, 4)),
        ("Conv2D", {"filters": 4, "kernel_size": 1}, (None, 6, 6)),
    ],
    ids=[
        "kernel-longer-than-input",
        "dilated-kernel-too-long",
        "causal-2d",
        "channel-groups",
        "filter-groups",
        "rank",
    ],
)
def test_invalid_config_is_rejected_like_keras(class_name, config, shape):
    with pytest.raises((ValueError, TypeError)):  # from_config wraps errors in TypeError
        layer_facts(class_name, config, [shape])
    with pytest.raises(ValueError):
        _registry_facts(class_name, config, shape)


def _registry_facts(class_name: str, config: dict, shape: tuple) -> tuple:
    entry = lookup(class_name)
    return entry.output_shape(config, [shape]), entry.weights(config, [shape])


def test_weights_need_a_known_channel_count():
    with pytest.raises(ValueError):
        lookup("Conv2D").weights({"filters": 2, "kernel_size": 3}, [(None, 8, 8, None)])


def test_every_keras_convolution_class_and_alias_is_registered():
    names = _exported_from("keras.src.layers.convolutional")
    assert len(names) == 18
    for name in names:
        entry = lookup(name)
        assert entry is not None, name
        assert entry.family == "convolution"
        assert getattr(keras.layers, entry.class_name) is getattr(keras.layers, name)


def _exported_from(package: str) -> list[str]:
    return [
        name
        for name in dir(keras.layers)
        if isinstance(getattr(keras.layers, name), type)
        and getattr(keras.layers, name).__module__.startswith(package + ".")
    ]


@pytest.mark.parametrize("class_name", ["DepthwiseConv1D", "SeparableConv1D"])
def test_keras2_causal_padding_is_accepted_with_the_same_lengths(class_name):
    # Keras 2 let these 1D layers pad causally; Keras 3 refuses the value. Causal padding has
    # the output length of same padding, which Keras 3 still computes.
    config = {"kernel_size": 3, "strides": 2, "depth_multiplier": 2}
    if class_name == "SeparableConv1D":
        config["filters"] = 2
    expected = layer_facts(class_name, {**config, "padding": "same"}, [(None, 9, 3)])
    output = lookup(class_name).output_shape({**config, "padding": "causal"}, [(None, 9, 3)])
    assert output == expected["output_shape"]
