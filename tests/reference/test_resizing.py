"""Resizing, CenterCrop and the image augmentation layers against Keras: every interpolation,
antialias, crop_to_aspect_ratio, pad_to_aspect_ratio, data_format, unbatched images;
augmentations at inference, and the refusal to reproduce them in training mode."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import UnsupportedModel
from app.reference import run_layer
from tests.reference.calls import assert_call_matches_keras
from tests.reference.harness import assert_layer_matches_keras, random_inputs

INTERPOLATIONS = ["nearest", "bilinear", "bicubic", "area", "lanczos3", "lanczos5"]

# (height, width) from (H, W): up, down, mixed, non-integer ratios, to one pixel
SIZES = [((7, 9), (5, 6)), ((5, 6), (11, 13)), ((9, 4), (4, 10)), ((6, 6), (1, 3))]

RESIZING = [
    ({"height": 4, "width": 6, "crop_to_aspect_ratio": True}, (2, 9, 7, 3)),
    (
        {"height": 6, "width": 3, "crop_to_aspect_ratio": True, "interpolation": "nearest"},
        (1, 5, 8, 2),
    ),
    ({"height": 4, "width": 8, "pad_to_aspect_ratio": True}, (2, 7, 6, 3)),
    ({"height": 8, "width": 3, "pad_to_aspect_ratio": True, "fill_value": 0.5}, (1, 5, 6, 2)),
    ({"height": 5, "width": 7, "pad_to_aspect_ratio": True, "interpolation": "area"}, (1, 6, 5, 1)),
    ({"height": 5, "width": 4, "data_format": "channels_first"}, (2, 3, 7, 9)),
    (
        {"height": 3, "width": 5, "interpolation": "bicubic", "data_format": "channels_first"},
        (1, 2, 6, 4),
    ),
    ({"height": 6, "width": 5}, (7, 9, 3)),
    ({"height": 6, "width": 5, "data_format": "channels_first"}, (2, 7, 9)),
]

CENTER_CROP = [
    ({"height": 4, "width": 5}, (2, 8, 9, 3)),
    ({"height": 5, "width": 4}, (2, 5, 7, 1)),
    ({"height": 6, "width": 9}, (1, 4, 5, 2)),  # smaller: smart_resize
    ({"height": 3, "width": 8}, (2, 7, 6, 3)),  # narrower only
    ({"height": 3, "width": 2, "data_format": "channels_first"}, (1, 2, 6, 5)),
    ({"height": 3, "width": 4}, (6, 7, 2)),
]

AUGMENTATIONS = [
    ("RandomFlip", {}),
    ("RandomFlip", {"mode": "vertical"}),
    ("RandomRotation", {"factor": 0.2}),
    ("RandomZoom", {"height_factor": 0.3}),
    ("RandomTranslation", {"height_factor": 0.2, "width_factor": 0.1}),
    ("RandomContrast", {"factor": 0.5}),
    ("RandomBrightness", {"factor": 0.3}),
    ("RandomCrop", {"height": 4, "width": 5}),
    # Keras 3 only: at inference each is the identity, some in their compute dtype
    ("RandomGrayscale", {"factor": 1.0}),
    ("RandomHue", {"factor": 0.5, "value_range": (0, 255)}),
    ("RandomSaturation", {"factor": 0.7, "value_range": (0, 255)}),
    ("RandomSharpness", {"factor": 0.5, "value_range": (0, 255)}),
    ("RandomShear", {"x_factor": 0.3, "y_factor": 0.2}),
    ("RandomColorDegeneration", {"factor": 0.5}),
    ("RandomColorJitter", {"value_range": (0, 255), "brightness_factor": 0.2, "hue_factor": 0.3}),
    ("RandomPosterization", {"factor": (1, 4)}),
    ("RandomInvert", {"factor": 1.0}),
    ("RandomErasing", {"factor": 1.0}),
    ("RandomGaussianBlur", {"factor": 1.0}),
    ("RandomPerspective", {"factor": 1.0}),
    ("RandomElasticTransform", {"factor": 1.0}),
    ("Solarization", {"addition_factor": 0.3, "threshold_factor": 0.5}),
    ("MixUp", {"alpha": 0.4}),
    ("CutMix", {"factor": 1.0}),
    ("AugMix", {"value_range": (0, 255)}),
    ("RandAugment", {"value_range": (0, 255), "num_ops": 3}),
]


def _size_ids():
    return [f"{h}x{w}-to-{oh}x{ow}" for (h, w), (oh, ow) in SIZES]


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize(("source", "target"), SIZES, ids=_size_ids())
def test_resizing_matches_keras(interpolation, source, target):
    config = {"height": target[0], "width": target[1], "interpolation": interpolation}
    assert_layer_matches_keras(
        "Resizing", config, random_inputs([(2, *source, 3)]), randomize=False
    )


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic", "lanczos3", "lanczos5"])
@pytest.mark.parametrize(("source", "target"), SIZES[:3], ids=_size_ids()[:3])
def test_resizing_antialias_matches_keras(interpolation, source, target):
    config = {"height": target[0], "width": target[1], "interpolation": interpolation}
    config["antialias"] = True
    assert_layer_matches_keras(
        "Resizing", config, random_inputs([(1, *source, 2)]), randomize=False
    )


@pytest.mark.parametrize(("config", "shape"), RESIZING, ids=[str(i) for i in range(len(RESIZING))])
def test_resizing_options_match_keras(config, shape):
    assert_layer_matches_keras("Resizing", config, random_inputs([shape]), randomize=False)


@pytest.mark.parametrize(
    ("config", "shape"), CENTER_CROP, ids=[str(i) for i in range(len(CENTER_CROP))]
)
def test_center_crop_matches_keras(config, shape):
    assert_layer_matches_keras("CenterCrop", config, random_inputs([shape]), randomize=False)


@pytest.mark.parametrize(("class_name", "config"), AUGMENTATIONS, ids=[c for c, _ in AUGMENTATIONS])
def test_augmentation_at_inference_matches_keras(class_name, config):
    assert_layer_matches_keras(class_name, config, random_inputs([(2, 6, 7, 3)]), randomize=False)


@pytest.mark.parametrize(("class_name", "config"), AUGMENTATIONS, ids=[c for c, _ in AUGMENTATIONS])
def test_augmentation_in_training_is_refused(class_name, config):
    x = random_inputs([(1, 6, 7, 3)])
    with pytest.raises(UnsupportedModel) as caught:
        run_layer(class_name, config, {}, x, training=True)
    assert caught.value.code == "unsupported-model"
    assert caught.value.details == {"class_name": class_name, "mode": "training"}


def _uint8_images(shape):
    return [np.random.default_rng(3).integers(0, 256, size=shape).astype(np.uint8)]


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic", "area"])
def test_resizing_uint8_images_match_keras(interpolation):
    config = {"height": 5, "width": 9, "interpolation": interpolation}
    assert_layer_matches_keras("Resizing", config, _uint8_images((2, 7, 6, 3)), randomize=False)


@pytest.mark.parametrize("shape", [(2, 7, 6, 3), (1, 4, 9, 2)], ids=["crop", "smart-resize"])
def test_center_crop_uint8_images_match_keras(shape):
    assert_layer_matches_keras(
        "CenterCrop", {"height": 5, "width": 4}, _uint8_images(shape), randomize=False
    )


@pytest.mark.parametrize(("class_name", "config"), AUGMENTATIONS, ids=[c for c, _ in AUGMENTATIONS])
def test_augmentation_of_uint8_images_at_inference_matches_keras(class_name, config):
    assert_layer_matches_keras(class_name, config, _uint8_images((2, 6, 7, 3)), randomize=False)


def test_resizing_nearest_doubles_each_pixel():
    x = np.arange(4, dtype=np.float32).reshape(1, 2, 2, 1)
    config = {"height": 4, "width": 4, "interpolation": "nearest"}
    out = run_layer("Resizing", config, {}, [x])[0, :, :, 0]
    # centres (i + ½)·½ fall in input cell ⌊(i + ½)/2⌋ = 0, 0, 1, 1
    np.testing.assert_array_equal(out, [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]])


def test_custom_scale_layer_matches_keras():
    inputs = random_inputs([(2, 5, 5, 4), (2, 5, 5, 4)])
    assert_call_matches_keras("CustomScaleLayer", {"scale": 0.17}, inputs, as_list=True)
