"""Preprocessing layers: Rescaling, Normalization, Resizing, CenterCrop, and the image
augmentation layers: RandomFlip, RandomRotation, RandomZoom, RandomTranslation,
RandomContrast, RandomBrightness, RandomCrop (Keras 2 and 3), and Keras 3's RandomGrayscale,
RandomHue, RandomSaturation, ... MixUp, CutMix, AugMix, RandAugment (KERAS3_AUGMENTATIONS).

Only Normalization can have weights. The augmentation layers keep a `seed_generator` state
variable that is neither in `layer.weights` nor stored in a `.keras` file; at inference they
are the identity in Keras 3.15, RandomCrop too, although Keras gives it the output shape
height × width (Keras 2 and 3.0-3.7 cropped at inference: app/analysis/writer_semantics.py).
"""

from __future__ import annotations

from app.graph import Shape
from app.layers.fields import NUMBER, NUMBERS, optional
from app.layers.registry import (
    UNUSED_BY_KERAS2,
    Config,
    Traits,
    WeightSpec,
    register,
    register_structure,
    same_shape,
    single,
)

FAMILY = "preprocessing"
PASSES_MASK = Traits(passes_mask=True)

register(
    "Rescaling",
    family=FAMILY,
    fields={"scale": NUMBERS},
    summary="output = inputs · scale + offset (scale and offset from the config).",
    traits=PASSES_MASK,
)(same_shape)


def _kept_axes(config: Config, rank: int) -> list[int]:
    """Normalization's `axis` (None, an int or a list) as sorted non-negative axes."""
    axis = config.get("axis", -1)
    axes = [] if axis is None else list(axis) if isinstance(axis, list | tuple) else [axis]
    for a in axes:
        if not -rank <= int(a) < rank:
            raise ValueError(f"axis {a} is out of bounds for rank {rank}")
    return sorted(int(a) % rank for a in axes)


def normalization_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """None when `mean` and `variance` are given in the config (they are constants then).

    Otherwise the state `adapt()` fills, all non-trainable: mean and variance, of the
    input's sizes over the kept `axis` (axis=-1 on (None, 8, 8, 3): (3,); axis=None: ()),
    then count, a scalar () int64 (the number of samples seen).
    """
    shape = single(input_shapes)
    kept = tuple(shape[a] for a in _kept_axes(config, len(shape)))
    if None in kept:
        raise ValueError(f"Normalization needs a known size on every kept axis: {shape}")
    if config.get("mean") is not None:
        return []
    kept = tuple(int(d) for d in kept)
    return [
        WeightSpec("mean", "mean", kept),
        WeightSpec("variance", "variance", kept),
        WeightSpec("count", "count", ()),
    ]


register(
    "Normalization",
    family=FAMILY,
    fields={"mean": optional(NUMBERS), "variance": optional(NUMBERS)},
    summary=(
        "output = (inputs − mean) / max(√variance, epsilon) over the kept `axis` "
        "(invert: mean + inputs · max(√variance, epsilon)); epsilon is 1e-7."
    ),
    weights=normalization_weights,
    traits=PASSES_MASK,
)(same_shape)


def _height_width_axes(config: Config, rank: int) -> tuple[int, int]:
    """Where height and width are in a batched (rank 4) or single (rank 3) image."""
    if rank not in (3, 4):
        raise ValueError(f"expected images of rank 3 or 4, got rank {rank}")
    first = rank - 3 if config.get("data_format") != "channels_first" else rank - 2
    return first, first + 1


def resized_output(config: Config, input_shapes: list) -> Shape:
    """The input's shape with height and width replaced by the config's."""
    shape = list(single(input_shapes))
    h, w = _height_width_axes(config, len(shape))
    shape[h], shape[w] = int(config["height"]), int(config["width"])
    return tuple(shape)


register(
    "Resizing",
    family=FAMILY,
    summary="output = the images resized to height × width by `interpolation`.",
)(resized_output)

register(
    "CenterCrop",
    family=FAMILY,
    summary=(
        "output = the central height × width window of the images (resized first when smaller)."
    ),
)(resized_output)

# tf_keras 2.20+ writes which random generator the augmentation layers draw from
# (`rng_type`), and Keras 3.0-3.5 RandomRotation a `value_range` it never read: neither
# changes what the layer computes at inference (its input), and Keras 3.15 refuses both.
RANDOM = Traits(keras2_defaults={"rng_type": UNUSED_BY_KERAS2})
RANDOM_ROTATION = Traits(
    keras2_defaults={"rng_type": UNUSED_BY_KERAS2, "value_range": UNUSED_BY_KERAS2}
)

register(
    "RandomCrop",
    family=FAMILY,
    traits=RANDOM,
    summary=(
        "Inference (Keras 3.8 and later): output = inputs (Keras 2 and 3.0-3.7 cropped to "
        "height × width); training: a random height × width window."
    ),
)(resized_output)

AUGMENTATIONS = {
    "RandomFlip": "flipped horizontally and/or vertically (`mode`)",
    "RandomRotation": "rotated by a random angle within factor · 2π",
    "RandomZoom": "zoomed by random height_factor and width_factor",
    "RandomTranslation": "shifted by random height_factor and width_factor",
    "RandomContrast": "with (x − mean) · c + mean, c random within 1 ± factor",
    "RandomBrightness": "with x + d, d random within factor · value_range",
}

# Keras 3 only (3.8 and later): every one's `transform_images` returns the images untouched
# unless `training` (AutoContrast, Equalization and ContrastLimitedAdaptiveHistogramEqualization
# transform at inference too: they are not here).
KERAS3_AUGMENTATIONS = {
    "RandomGrayscale": "turned grey (kept at its channel count) with probability factor",
    "RandomHue": "with its hue shifted by a random amount within factor",
    "RandomSaturation": "with its saturation scaled by a random amount within factor",
    "RandomSharpness": "sharpened or blurred by a random amount within factor",
    "RandomShear": "sheared by random x_factor and y_factor",
    "RandomColorDegeneration": "blended with its grey version by a random amount within factor",
    "RandomColorJitter": "with random brightness, contrast, saturation and hue",
    "RandomPosterization": "with its colours cut to a random number of bits within factor",
    "RandomInvert": "inverted within value_range with probability factor",
    "RandomErasing": "with random rectangles filled with fill_value or noise",
    "RandomGaussianBlur": "blurred by a Gaussian of random sigma within sigma",
    "RandomPerspective": "warped by a random perspective transform within scale",
    "RandomElasticTransform": "warped by a random smooth displacement field",
    "Solarization": "with the values above a random threshold inverted",
    "MixUp": "blended with another image of the batch (weights from a Beta(alpha, alpha) draw)",
    "CutMix": "with a random patch pasted from another image of the batch",
    "AugMix": "mixed with chains of random augmentations of itself",
    "RandAugment": "transformed by num_ops augmentations chosen at random",
}

# Keys the shared vocabulary reads otherwise (`scale` as BatchNormalization's flag):
# RandomErasing's `scale` is an area range and its `fill_value` null for noise; the warps'
# `scale` is a number (RandomElasticTransform writes a range).
KERAS3_FIELDS = {
    "RandomErasing": {"scale": NUMBERS, "fill_value": optional(NUMBER)},
    "RandomPerspective": {"scale": NUMBERS},
    "RandomElasticTransform": {"scale": NUMBERS},
}

for _name, _what in KERAS3_AUGMENTATIONS.items():
    register(
        _name,
        family=FAMILY,
        summary=f"Inference: output = inputs; training: each image {_what}.",
        fields=KERAS3_FIELDS.get(_name),
    )(same_shape)

for _name, _what in AUGMENTATIONS.items():
    register(
        _name,
        family=FAMILY,
        summary=f"Inference: output = inputs; training: each image {_what}.",
        traits=RANDOM_ROTATION if _name == "RandomRotation" else RANDOM,
    )(same_shape)

# AugMix and RandAugment build these two among the augmentations they draw from (never in a
# config, run in training only); in a model's own config they stay unknown: both transform
# images at inference too, and nothing here computes them.
register_structure("AutoContrast", "Equalization")
