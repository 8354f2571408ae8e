"""Preprocessing layers: the registry's weights and output shapes against what Keras builds."""

from __future__ import annotations

import pytest

from app.layers.registry import lookup
from tests.support.kerascompare import registry_facts
from tests.support.kerasref import keras, layer_facts


def assert_matches_keras(class_name: str, config: dict, shapes: list) -> None:
    assert registry_facts(class_name, config, shapes) == layer_facts(class_name, config, shapes)


@pytest.mark.parametrize(
    "config",
    [
        {"scale": 1 / 255.0, "offset": 0.0},
        {"scale": 1 / 127.5, "offset": -1.0},
        {"scale": [0.5, 0.25, 2.0], "offset": [0.0, 1.0, 2.0]},
    ],
)
def test_rescaling_matches_keras(config):
    assert_matches_keras("Rescaling", config, [(None, 8, 8, 3)])


NORMALIZATION_ADAPT_CASES = [
    ({}, [(None, 5)]),
    ({"axis": -1}, [(None, 8, 8, 3)]),
    ({"axis": [-1]}, [(None, 8, 8, 3)]),
    ({"axis": 1}, [(None, 3, 8, 8)]),
    ({"axis": [1, 2]}, [(None, 5, 4, 3)]),
    ({"axis": [-1, 1]}, [(None, 5, 4)]),
    ({"axis": None}, [(None, 5, 4)]),
    ({"axis": (), "invert": True}, [(None, 5)]),
    ({"axis": -1, "mean": None, "variance": None}, [(None, None, 6)]),
]


@pytest.mark.parametrize(("config", "shapes"), NORMALIZATION_ADAPT_CASES)
def test_normalization_adapt_state_matches_keras(config, shapes):
    assert_matches_keras("Normalization", config, shapes)


def test_normalization_adapt_state_by_hand():
    facts = registry_facts("Normalization", {"axis": -1}, [(None, 8, 8, 3)])
    assert facts["weights"] == [
        ("mean", (3,), False),
        ("variance", (3,), False),
        ("count", (), False),
    ]


@pytest.mark.parametrize(
    ("config", "shapes"),
    [
        ({"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0]}, [(None, 8, 8, 3)]),
        ({"mean": 0.5, "variance": 2.0}, [(None, 5)]),
        ({"axis": [-1], "mean": [1.0, 2.0], "variance": [1.0, 2.0], "invert": True}, [(None, 2)]),
    ],
)
def test_normalization_with_given_mean_has_no_weights(config, shapes):
    facts = registry_facts("Normalization", config, shapes)
    assert facts == layer_facts("Normalization", config, shapes)
    assert facts["weights"] == []


def test_normalization_count_is_int64_in_keras():
    # WeightSpec carries no dtype: record here what the count variable really is.
    layer = keras.layers.Normalization()
    layer.build((None, 3))
    assert [w.dtype for w in layer.weights] == ["float32", "float32", "int64"]


def test_normalization_rejects_unknown_kept_axis():
    with pytest.raises(ValueError):
        layer_facts("Normalization", {}, [(None, None)])
    with pytest.raises(ValueError):
        lookup("Normalization").weights({}, [(None, None)])


RESIZE_CASES = [
    ({"height": 4, "width": 6}, [(None, 8, 8, 3)]),
    ({"height": 16, "width": 12}, [(None, None, None, 3)]),
    ({"height": 4, "width": 6, "data_format": "channels_first"}, [(None, 3, 8, 8)]),
    ({"height": 4, "width": 6, "data_format": "channels_last"}, [(2, 8, 8, 1)]),
]


@pytest.mark.parametrize("class_name", ["Resizing", "CenterCrop", "RandomCrop"])
@pytest.mark.parametrize(("config", "shapes"), RESIZE_CASES)
def test_cropping_and_resizing_shapes_match_keras(class_name, config, shapes):
    assert_matches_keras(class_name, config, shapes)


@pytest.mark.parametrize("class_name", ["Resizing", "CenterCrop"])
def test_resize_of_a_single_image_by_hand(class_name):
    config = {"height": 4, "width": 6}
    assert lookup(class_name).output_shape(config, [(8, 8, 3)]) == (4, 6, 3)


AUGMENTATION_CASES = [
    ("RandomFlip", {}),
    ("RandomFlip", {"mode": "horizontal", "seed": 3}),
    ("RandomRotation", {"factor": 0.1}),
    ("RandomRotation", {"factor": [-0.2, 0.3], "fill_mode": "nearest"}),
    ("RandomZoom", {"height_factor": 0.2}),
    ("RandomZoom", {"height_factor": [-0.1, 0.2], "width_factor": 0.3}),
    ("RandomTranslation", {"height_factor": 0.1, "width_factor": 0.2}),
    ("RandomContrast", {"factor": 0.2}),
    ("RandomBrightness", {"factor": 0.2}),
]


@pytest.mark.parametrize(("class_name", "config"), AUGMENTATION_CASES)
@pytest.mark.parametrize("shape", [(None, 8, 8, 3), (2, 5, 7, 1)])
def test_augmentation_layers_are_identity_shaped_without_weights(class_name, config, shape):
    assert_matches_keras(class_name, config, [shape])


KERAS3_AUGMENTATION_CASES = [
    ("RandomGrayscale", {"factor": 0.5}),
    ("RandomHue", {"factor": 0.5, "value_range": (0, 255)}),
    ("RandomSaturation", {"factor": 0.5}),
    ("RandomSharpness", {"factor": 0.5}),
    ("RandomShear", {"x_factor": 0.3}),
    ("RandomColorDegeneration", {"factor": 0.5}),
    ("RandomColorJitter", {"brightness_factor": 0.2, "hue_factor": 0.3}),
    ("RandomPosterization", {"factor": (1, 4)}),
    ("RandomInvert", {}),
    ("RandomErasing", {}),
    ("RandomGaussianBlur", {}),
    ("RandomPerspective", {}),
    ("RandomElasticTransform", {}),
    ("Solarization", {"addition_factor": 0.3}),
    ("MixUp", {}),
    ("CutMix", {}),
    ("AugMix", {}),
    ("RandAugment", {}),
]


@pytest.mark.parametrize(("class_name", "config"), KERAS3_AUGMENTATION_CASES)
@pytest.mark.parametrize("shape", [(None, 8, 8, 3), (2, 5, 7, 3)])
def test_keras3_augmentation_layers_are_identity_shaped_without_weights(class_name, config, shape):
    assert_matches_keras(class_name, config, [shape])


@pytest.mark.parametrize(
    ("class_name", "config"), [c for c in KERAS3_AUGMENTATION_CASES if c[0] != "Solarization"]
)
def test_keras3_augmentation_layers_channels_first_match_keras(class_name, config):
    # Solarization takes no data_format: it works on any layout
    assert_matches_keras(class_name, {**config, "data_format": "channels_first"}, [(2, 3, 5, 7)])


@pytest.mark.parametrize(
    ("class_name", "config"),
    [
        ("RandomFlip", {}),
        ("RandomRotation", {"factor": 0.1}),
        ("RandomCrop", {"height": 2, "width": 2}),
        ("RandomGrayscale", {}),
        ("MixUp", {}),
    ],
)
def test_augmentation_seed_state_is_not_a_weight(class_name, config):
    layer = getattr(keras.layers, class_name)(**config)
    layer(keras.Input(batch_shape=(None, 4, 4, 3)))
    assert layer.weights == []
    assert [v.path.split("/")[-1] for v in layer.variables] == ["seed_generator_state"]
