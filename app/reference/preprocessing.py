"""Preprocessing layers: Rescaling, Normalization, the image augmentation layers (identity at
inference), and those that change the image size: Resizing and CenterCrop.

Images are batched `(N, H, W, C)` (channels_last) or `(N, C, H, W)` (channels_first); a
single image of rank 3 is accepted too, as Keras accepts it. The resampling itself is
`interpolation.resize`, TensorFlow's `tf.image.resize`, which Keras' TensorFlow backend
calls.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.errors import UnsupportedModel
from app.graph import compute_dtype
from app.reference.forwards import (
    Config,
    Weights,
    forward,
    is_channels_first,
    scalar,
    single,
    weight,
)
from app.reference.interpolation import F32, resize


def to_batched_nhwc(x: np.ndarray, channels_first: bool) -> np.ndarray:
    """(N, H, W, C) view of a rank-3 or rank-4 image tensor in either data format."""
    if x.ndim not in (3, 4):
        raise ValueError(f"expected images of rank 3 or 4, got rank {x.ndim}")
    batched = x if x.ndim == 4 else x[None]
    return np.moveaxis(batched, 1, -1) if channels_first else batched


def from_batched_nhwc(x: np.ndarray, channels_first: bool, rank: int) -> np.ndarray:
    """Undo `to_batched_nhwc` for a result (N, H', W', C)."""
    out = np.moveaxis(x, -1, 1) if channels_first else x
    return out if rank == 4 else out[0]


def like_input(out: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The resized images in the input's dtype: integers are rounded (half to even) and
    saturated to the dtype's range first, as Keras' Resizing does."""
    if out.dtype == dtype:
        return out
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        out = np.clip(np.round(out), info.min, info.max)
    return out.astype(dtype)


def aspect_size(length: int, other: int, target: int, target_other: int) -> int:
    """int(float32(other · target) / target_other): the extent along one axis of the box with
    the target aspect ratio that fits the image's other extent (TensorFlow's float32 cast)."""
    return int(F32(other * target) / F32(target_other))


def crop_to_aspect_ratio(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The central box of x (N, H, W, C) with the aspect ratio of `size` (the largest one).

    crop_h = clip(⌊W·h / w⌋, 1, H), crop_w = clip(⌊H·w / h⌋, 1, W), starting at
    ⌊(H − crop_h) / 2⌋, ⌊(W − crop_w) / 2⌋.
    """
    height, width = x.shape[1:3]
    crop_h = max(min(height, aspect_size(height, width, size[0], size[1])), 1)
    crop_w = max(min(width, aspect_size(width, height, size[1], size[0])), 1)
    top, left = int(F32(height - crop_h) / 2), int(F32(width - crop_w) / 2)
    return x[:, top : top + crop_h, left : left + crop_w]


def pad_to_aspect_ratio(x: np.ndarray, size: tuple[int, int], fill_value: float) -> np.ndarray:
    """x (N, H, W, C) padded with fill_value towards the aspect ratio of `size`.

    As Keras' TensorFlow backend does it: pad_h = max(⌊W·h / w⌋, H); ⌊(pad_h − H) / 2⌋
    rows of fill_value go on both sides (so an odd difference loses a row); likewise the
    columns.
    """
    height, width = x.shape[1:3]
    top = int(F32(max(height, aspect_size(height, width, size[0], size[1])) - height) / 2)
    left = int(F32(max(width, aspect_size(width, height, size[1], size[0])) - width) / 2)
    widths = [(0, 0), (top, top), (left, left), (0, 0)]
    return np.pad(x, widths, constant_values=np.asarray(fill_value, x.dtype))


@forward("Resizing")
def resizing(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Resizing: the images resized to (height, width) by `interpolation` (default bilinear).

    With crop_to_aspect_ratio the central box of the target aspect ratio is resized; with
    pad_to_aspect_ratio the images are first padded with fill_value towards it.
    Interpolations: nearest, bilinear, bicubic, area, lanczos3, lanczos5; `antialias` as in
    `tf.image.resize`. The result keeps the input's dtype (integers rounded and saturated).
    Shapes: (N, H, W, C) → (N, height, width, C) (or channels_first).
    """
    x = single(inputs)
    channels_first = is_channels_first(config)
    images = to_batched_nhwc(x, channels_first)
    size = (int(config["height"]), int(config["width"]))
    if config.get("crop_to_aspect_ratio", False):
        images = crop_to_aspect_ratio(images, size)
    elif config.get("pad_to_aspect_ratio", False):
        images = pad_to_aspect_ratio(images, size, config.get("fill_value", 0.0))
    method = str(config.get("interpolation", "bilinear"))
    out = resize(images, size, method, bool(config.get("antialias", False)))
    return from_batched_nhwc(like_input(out, x.dtype), channels_first, x.ndim)


def smart_resize(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Keras' `image_utils.smart_resize` (bilinear): crop to the target aspect ratio, resize.

    Its crop box uses Python floats: crop_h = clip(int(W·h / w), 1, H), start
    int((H − crop_h) / 2), and likewise for the width.
    """
    height, width = x.shape[1:3]
    crop_h = max(min(height, int(float(width * size[0]) / size[1])), 1)
    crop_w = max(min(width, int(float(height * size[1]) / size[0])), 1)
    top, left = int(float(height - crop_h) / 2), int(float(width - crop_w) / 2)
    return resize(x[:, top : top + crop_h, left : left + crop_w], size, "bilinear")


@forward("CenterCrop")
def center_crop(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """CenterCrop: the central (height, width) window of the images.

    out = x[:, ⌊(H − height)/2⌋ : … + height, ⌊(W − width)/2⌋ : … + width]; when the image
    is smaller than the target on either axis, `smart_resize` instead (crop to the
    target's aspect ratio, then bilinear resize). The images are first cast to the
    layer's compute dtype. Same at inference and in training.
    """
    x = single(inputs).astype(compute_dtype(config), copy=False)
    channels_first = is_channels_first(config)
    images = to_batched_nhwc(x, channels_first)
    target = (int(config["height"]), int(config["width"]))
    height, width = images.shape[1:3]
    if height >= target[0] and width >= target[1]:
        top, left = (height - target[0]) // 2, (width - target[1]) // 2
        out = images[:, top : top + target[0], left : left + target[1]]
    else:
        out = smart_resize(images, target).astype(x.dtype, copy=False)
    return from_batched_nhwc(out, channels_first, x.ndim)


def config_value(value: Any) -> Any:
    """A config value that may be a serialized NumPy array (`{"class_name": "__numpy__"}`)."""
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        return value["config"]["value"]
    return value


@forward("Rescaling")
def rescaling(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Rescaling: x · scale + offset (scalars, or arrays broadcast over the last axes)."""
    x = single(inputs)
    scale = np.asarray(config_value(config["scale"]), dtype=x.dtype)
    offset = np.asarray(config_value(config.get("offset", 0.0)), dtype=x.dtype)
    return x * scale + offset


def _kept_axes(config: Config, rank: int) -> list[int]:
    axis = config.get("axis", -1)
    axes = () if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
    return sorted(int(a) % rank for a in axes)


def _statistic(config: Config, weights: Weights, name: str, x: np.ndarray) -> np.ndarray:
    """Normalization's `mean` or `variance` (from the config, else the adapted weight),
    reshaped to broadcast against x: its dims align with the kept axes, from the right."""
    kept = _kept_axes(config, x.ndim)
    given = config.get(name)
    value = weight(weights, name) if given is None else config_value(given)
    value = np.asarray(value, dtype=x.dtype)
    shape = [1] * x.ndim
    for i in range(1, value.ndim + 1):
        shape[kept[-i]] = value.shape[-i]
    return value.reshape(shape)


@forward("Normalization")
def normalization(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Normalization (preprocessing): (x − mean) / max(√variance, 1e-7).

    With `invert=True`: mean + x · max(√variance, 1e-7). mean/variance have one value per
    position of the kept `axis` (default −1), from the config or from `adapt()`.
    """
    x = single(inputs)
    mean = _statistic(config, weights, "mean", x)
    std = np.maximum(np.sqrt(_statistic(config, weights, "variance", x)), scalar(1e-7, x))
    if config.get("invert", False):
        return mean + x * std
    return (x - mean) / std


AUGMENTATIONS = {  # class -> (what Keras draws at random in training mode, casts at inference)
    # The casting ones hand the images on in the layer's compute dtype even at inference.
    "RandomFlip": ("a flip", True),
    "RandomRotation": ("an angle", True),
    "RandomZoom": ("a zoom", True),
    "RandomTranslation": ("a shift", True),
    "RandomContrast": ("a contrast factor", False),
    "RandomBrightness": ("a brightness delta", False),
    "RandomCrop": ("a crop box", False),
    # Keras 3 only (3.8 and later)
    "RandomGrayscale": ("which images turn grey", False),
    "RandomHue": ("a hue shift", False),
    "RandomSaturation": ("a saturation factor", False),
    "RandomSharpness": ("a sharpness factor", True),
    "RandomShear": ("a shear", True),
    "RandomColorDegeneration": ("a blend factor", False),
    "RandomColorJitter": ("brightness, contrast, saturation and hue", False),
    "RandomPosterization": ("a number of bits", False),
    "RandomInvert": ("which images are inverted", False),
    "RandomErasing": ("rectangles to erase", True),
    "RandomGaussianBlur": ("a blur", True),
    "RandomPerspective": ("a perspective transform", True),
    "RandomElasticTransform": ("a displacement field", True),
    "Solarization": ("a threshold", True),
    "MixUp": ("which images are blended", False),
    "CutMix": ("patches to paste", True),
    "AugMix": ("chains of augmentations", True),
    "RandAugment": ("augmentations", True),
}


def augmentation(class_name: str):
    """The forward of an image augmentation layer: output = x at inference (those marked
    `casts` above, RandomFlip for one, hand it on in their compute dtype, as Keras 3.15 does:
    tests/reference/test_resizing.py holds each class's dtype on uint8 images to Keras').

    In training mode Keras draws a fresh random transformation per call, which a reference
    cannot reproduce, so it refuses. RandomCrop is the identity at inference too in Keras 3
    (up to at least 3.15): its transform is skipped unless `training`, although its
    `compute_output_shape` and its documentation promise a center crop
    (keras-team/keras#21868).
    """

    drawn, casts = AUGMENTATIONS[class_name]

    def augment(config: Config, weights: Weights, inputs: list[np.ndarray], training):
        if training:
            raise UnsupportedModel(
                f"{class_name} draws {drawn} at random in training mode, "
                "which cannot be reproduced; run the check in inference mode.",
                {"class_name": class_name, "mode": "training"},
            )
        x = single(inputs)
        if casts:
            return x.astype(compute_dtype(config), copy=False)
        return x

    augment.__doc__ = augmentation.__doc__
    return augment


for _name in AUGMENTATIONS:
    forward(_name)(augmentation(_name))
