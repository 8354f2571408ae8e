"""Preprocessing layers by hand: Rescaling, Normalization, Resizing, CenterCrop, and the
random augmentations (the identity at inference)."""

from __future__ import annotations

from app.hand.rules import Facts, Hand, axis_text, hand, number
from app.hand.rules import settings as line
from app.reference.preprocessing import AUGMENTATIONS


def value(v: object) -> str:
    return number(v) if isinstance(v, int | float) else str(v)


@hand("Rescaling")
def rescaling(facts: Facts) -> Hand:
    scale, offset = facts.get("scale", 1.0), facts.get("offset", 0.0)
    return Hand(
        settings=line(f"scale {value(scale)}", f"offset {value(offset)}"),
        formula=f"y = x · {value(scale)} + {value(offset)}",
    )


@hand("Normalization")
def normalization(facts: Facts) -> Hand:
    axis = axis_text(facts.get("axis", -1)) if facts.get("axis", -1) is not None else "None"
    invert = bool(facts.get("invert", False))
    formula = (
        "y = x · max(√variance, 1e-7) + mean" if invert else "y = (x − mean) / max(√variance, 1e-7)"
    )
    return Hand(
        settings=line(f"axis {axis}", "invert" if invert else None),
        formula=formula,
        conventions=(
            "mean and variance are the adapted (or given) statistics per feature along axis.",
        ),
    )


@hand("Resizing")
def resizing(facts: Facts) -> Hand:
    height, width = facts.get("height", "?"), facts.get("width", "?")
    interpolation = facts.get("interpolation", "bilinear")
    return Hand(
        settings=line(
            f"height {height}",
            f"width {width}",
            f"interpolation {interpolation}",
            "crop_to_aspect_ratio" if facts.get("crop_to_aspect_ratio") else None,
            "pad_to_aspect_ratio" if facts.get("pad_to_aspect_ratio") else None,
        ),
        formula=f"y = resize(x, ({height}, {width}), {interpolation})",
        conventions=("Sampling uses half-pixel centres, as tf.image.resize does.",),
    )


@hand("CenterCrop")
def center_crop(facts: Facts) -> Hand:
    height, width = facts.get("height", "?"), facts.get("width", "?")
    return Hand(
        settings=line(f"height {height}", f"width {width}"),
        formula=f"y = the central ({height}, {width}) window of x",
    )


@hand(*AUGMENTATIONS)  # the forward's table of augmentation layers
def augmentation(facts: Facts) -> Hand:
    return Hand(
        settings=line(),
        formula="y = x",
        conventions=(
            f"{facts.class_name} changes images in training only: at inference it is the identity.",
        ),
    )
