"""Reshaping layers by hand: padding, cropping, up-sampling, Reshape, Flatten, Permute,
RepeatVector."""

from __future__ import annotations

from app.hand.rules import Facts, Hand, channels_first, data_format, hand, shape_text
from app.hand.rules import settings as line

C_ORDER = "Reshape keeps NumPy's row-major (C) order of the values: x.reshape((N, *target_shape))."


@hand("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")
def zero_padding(facts: Facts) -> Hand:
    padding = facts.get("padding", 1)
    return Hand(
        settings=line(f"padding {padding}", data_format(facts)),
        formula=f"y = x with zeros added on the spatial axes, (before, after) per axis: {padding}",
    )


@hand("Cropping1D", "Cropping2D", "Cropping3D")
def cropping(facts: Facts) -> Hand:
    cropping_ = facts.get("cropping", 1)
    return Hand(
        settings=line(f"cropping {cropping_}", data_format(facts)),
        formula=f"y = x without the (before, after) positions {cropping_} of each spatial axis",
    )


@hand("UpSampling1D", "UpSampling2D", "UpSampling3D")
def up_sampling(facts: Facts) -> Hand:
    size = facts.get("size", 2)
    interpolation = facts.get("interpolation", "nearest")
    formula = (
        f"y = x with each position repeated {size} times along the spatial axes"
        if interpolation == "nearest"
        else f"y = x resized by {size} with {interpolation} interpolation (half-pixel centres)"
    )
    return Hand(
        settings=line(f"size {size}", f"interpolation {interpolation}", data_format(facts)),
        formula=formula,
    )


@hand("Reshape")
def reshape(facts: Facts) -> Hand:
    target = shape_text(facts.get("target_shape", ()))
    return Hand(
        settings=line(f"target_shape {target}"),
        formula=f"y = x.reshape((N, *{target}))",
        conventions=(C_ORDER,),
    )


@hand("Flatten")
def flatten(facts: Facts) -> Hand:
    if channels_first(facts):
        formula = "y = moveaxis(x, 1, −1).reshape((N, −1))"
        order = (
            "data_format channels_first: Keras moves the channel axis last before flattening, so "
            "the flat order is (…spatial, channel), as for channels_last."
        )
    else:
        formula = "y = x.reshape((N, −1))"
        order = (
            "Flatten order follows data_format channels_last: row-major over (…spatial, "
            "channel), the channel index changing fastest (PyTorch's NCHW flattens channel first)."
        )
    return Hand(settings=line(data_format(facts)), formula=formula, conventions=(order,))


@hand("Permute")
def permute(facts: Facts) -> Hand:
    dims = tuple(facts.get("dims", ()))
    return Hand(
        settings=line(f"dims {shape_text(dims)}"),
        formula=f"y = transpose(x, (0, *{shape_text(dims)}))",
        conventions=("dims count from 1: axis 0 is the batch and never moves.",),
    )


@hand("RepeatVector")
def repeat_vector(facts: Facts) -> Hand:
    n = facts.get("n", "?")
    return Hand(settings=line(f"n {n}"), formula=f"y[:, t, :] = x for t = 0 … {n}−1")
