"""CategoryEncoding and Hashing: the registry's weights (none) and output shapes against what
Keras builds."""

from __future__ import annotations

import json

import pytest

from app.layers.registry import lookup
from app.safety.layer_fields import checked_config
from tests.support.kerascompare import registry_facts
from tests.support.kerasref import keras, layer_facts

SHAPES = [(None, 3), (None, 1), (4,), (2, 3, 5)]


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count", "binary"])
@pytest.mark.parametrize("shape", SHAPES)
def test_category_encoding_matches_keras(mode, shape):
    config = {"num_tokens": 6, "output_mode": mode}
    facts = registry_facts("CategoryEncoding", config, [shape])
    assert facts == layer_facts("CategoryEncoding", config, [shape])


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("shape", SHAPES)
def test_hashing_matches_keras(mode, shape):
    config = {"num_bins": 5, "output_mode": mode}
    assert registry_facts("Hashing", config, [shape]) == layer_facts("Hashing", config, [shape])


def test_category_encoding_shapes_by_hand():
    entry = lookup("CategoryEncoding")
    assert entry.output_shape({"num_tokens": 6, "output_mode": "one_hot"}, [(None, 3)]) == (
        None,
        3,
        6,
    )
    assert entry.output_shape({"num_tokens": 6, "output_mode": "one_hot"}, [(None, 1)]) == (
        None,
        6,
    )
    assert entry.output_shape({"num_tokens": 6}, [(None, 3)]) == (None, 6)
    assert entry.weights({"num_tokens": 6}, [(None, 3)]) == []


KERAS3_CLASSES = {  # class -> constructor arguments; each config is checked as Keras writes it
    **dict.fromkeys(
        [
            "RandomGrayscale", "RandomHue", "RandomSaturation", "RandomSharpness", "RandomShear",
            "RandomColorDegeneration", "RandomPosterization", "RandomInvert", "RandomErasing",
            "RandomGaussianBlur", "RandomPerspective", "RandomElasticTransform", "Solarization",
            "MixUp", "CutMix", "AugMix", "RandAugment", "RandomColorJitter",
        ],
        {},
    ),
    "RandomPosterization": {"factor": (1, 4)},
    **dict.fromkeys(
        ["RandomHue", "RandomSaturation", "RandomSharpness", "RandomColorDegeneration"],
        {"factor": 0.5},
    ),
    "CategoryEncoding": {"num_tokens": 4},
    "Hashing": {"num_bins": 3},
    "StringLookup": {"vocabulary": ["a", "b"]},
    "IntegerLookup": {"vocabulary": [3, 5]},
    "TextVectorization": {"vocabulary": ["a", "b"]},
}  # fmt: skip


@pytest.mark.parametrize("class_name", sorted(KERAS3_CLASSES))
def test_config_as_keras_writes_it_passes_the_field_check(class_name):
    """The shared vocabulary reads `scale` as a flag, `fill_value` and `mask_value` as
    numbers: these classes write other things there (RandomErasing's fill_value null)."""
    layer = getattr(keras.layers, class_name)(**KERAS3_CLASSES[class_name])
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(layer)))["config"]
    assert checked_config(class_name, "layer", config)[1] == []


@pytest.mark.parametrize(
    ("class_name", "config"),
    [
        ("Hashing", {"num_bins": 3, "mask_value": "x"}),
        ("Hashing", {"num_bins": 3, "mask_value": 0}),
        ("RandomErasing", {"fill_value": 0.5, "scale": [0.1, 0.2]}),
        ("RandomPerspective", {"scale": 0.5}),
    ],
)
def test_other_values_keras_takes_pass_the_field_check(class_name, config):
    layer = getattr(keras.layers, class_name)(**config)
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(layer)))["config"]
    assert checked_config(class_name, "layer", config)[1] == []
