"""Reshaping layers: ZeroPadding, Cropping, UpSampling (1D/2D/3D), Reshape, Flatten,
Permute, RepeatVector."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.errors import UnsupportedModel
from app.reference.forwards import (
    Config,
    Weights,
    as_tuple,
    forward,
    from_channels_last,
    is_channels_first,
    single,
    to_channels_last,
)
from app.reference.windows import pad_spatial


def pairs(value: Any, rank: int) -> list[tuple[int, int]]:
    """Keras' padding/cropping argument as one (before, after) pair per spatial axis.

    An int is symmetric everywhere; for one axis a pair is (before, after); for several axes
    each entry is an int (symmetric) or a pair.
    """
    if isinstance(value, int):
        return [(value, value)] * rank
    if rank == 1:
        return [as_tuple(value, 2)]
    return [as_tuple(v, 2) if not isinstance(v, int) else (v, v) for v in value]


def _spatial(config: Config, inputs: list[np.ndarray]) -> tuple[np.ndarray, bool]:
    channels_first = is_channels_first(config)
    return to_channels_last(single(inputs), channels_first), channels_first


def zero_padding(config: Config, inputs: list[np.ndarray], rank: int) -> np.ndarray:
    """ZeroPaddingND: zeros added before/after each spatial axis. (N, *S, C) → (N, *S', C)."""
    x, channels_first = _spatial(config, inputs)
    out = pad_spatial(x, pairs(config.get("padding", 1), rank))
    return from_channels_last(out, channels_first)


@forward("ZeroPadding1D")
def zero_padding1d(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """ZeroPadding1D: see `zero_padding`."""
    return zero_padding(config, inputs, 1)


@forward("ZeroPadding2D")
def zero_padding2d(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """ZeroPadding2D: see `zero_padding`."""
    return zero_padding(config, inputs, 2)


@forward("ZeroPadding3D")
def zero_padding3d(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """ZeroPadding3D: see `zero_padding`."""
    return zero_padding(config, inputs, 3)


def cropping(config: Config, inputs: list[np.ndarray], rank: int) -> np.ndarray:
    """CroppingND: `before` cells removed from the start and `after` from the end of each
    spatial axis. (N, *S, C) → (N, *(S − before − after), C)."""
    x, channels_first = _spatial(config, inputs)
    crops = pairs(config.get("cropping", 0 if rank == 2 else 1), rank)
    out = pad_spatial(x, [(-b, -a) for b, a in crops])
    return from_channels_last(out, channels_first)


@forward("Cropping1D")
def cropping1d(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Cropping1D: see `cropping` (always channels-last)."""
    return cropping(config, inputs, 1)


@forward("Cropping2D")
def cropping2d(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Cropping2D: see `cropping`."""
    return cropping(config, inputs, 2)


@forward("Cropping3D")
def cropping3d(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Cropping3D: see `cropping`."""
    return cropping(config, inputs, 3)


def repeat_spatial(x: np.ndarray, sizes: tuple[int, ...]) -> np.ndarray:
    """Nearest-neighbour upsampling of (N, *S, C): each cell repeated size_i times on axis i."""
    for axis, size in enumerate(sizes, start=1):
        x = np.repeat(x, size, axis=axis)
    return x


def bilinear_weights(size: int, factor: int) -> np.ndarray:
    """(size, size·factor) interpolation matrix of Keras' bilinear resize (half-pixel centres).

    Output j samples input position p_j = (j + 0.5)/factor − 0.5; its weights are the triangle
    max(0, 1 − |p_j − i|) over the input cells i that exist, renormalized to sum to 1 (so the
    edges repeat the border cell). Built in float64 on purpose: positions are exact and the
    matrix is tiny; the caller casts it to the input's dtype.
    """
    positions = (np.arange(size * factor) + 0.5) / factor - 0.5
    weights = np.maximum(0.0, 1.0 - np.abs(positions[None, :] - np.arange(size)[:, None]))
    return weights / weights.sum(axis=0, keepdims=True)


def bilinear_upsampling(x: np.ndarray, sizes: tuple[int, ...]) -> np.ndarray:
    """Bilinear upsampling of (N, H, W, C) by integer factors, one axis at a time."""
    for axis, factor in enumerate(sizes, start=1):
        w = bilinear_weights(x.shape[axis], factor).astype(x.dtype)
        x = np.moveaxis(np.tensordot(x, w, axes=(axis, 0)), -1, axis)
    return x


@forward("UpSampling1D")
def upsampling1d(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """UpSampling1D: each timestep repeated `size` times. (N, T, C) → (N, T·size, C)."""
    return repeat_spatial(single(inputs), (int(config.get("size", 2)),))


@forward("UpSampling2D")
def upsampling2d(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """UpSampling2D: (N, H, W, C) → (N, H·size₀, W·size₁, C), `nearest` (repeat) or
    `bilinear` (Keras' resize, half-pixel centres, edges clamped)."""
    x, channels_first = _spatial(config, inputs)
    sizes = as_tuple(config.get("size", 2), 2)
    interpolation = str(config.get("interpolation", "nearest")).lower()
    if interpolation == "nearest":
        out = repeat_spatial(x, sizes)
    elif interpolation == "bilinear":
        out = bilinear_upsampling(x, sizes)
    else:
        raise UnsupportedModel(
            f"UpSampling2D interpolation {interpolation!r} has no reference implementation.",
            {"interpolation": interpolation},
        )
    return from_channels_last(out, channels_first)


@forward("UpSampling3D")
def upsampling3d(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """UpSampling3D: each cell repeated size_i times on spatial axis i."""
    x, channels_first = _spatial(config, inputs)
    out = repeat_spatial(x, as_tuple(config.get("size", 2), 3))
    return from_channels_last(out, channels_first)


@forward("Reshape")
def reshape(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Reshape: (N, …) → (N, *target_shape); one −1 entry is inferred."""
    x = single(inputs)
    target = tuple(-1 if d is None else int(d) for d in config["target_shape"])
    return x.reshape(x.shape[0], *target)


@forward("Flatten")
def flatten(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Flatten: (N, …) → (N, Π…); channels_first inputs are made channels-last first."""
    x = single(inputs)
    if is_channels_first(config) and x.ndim > 2:
        x = np.moveaxis(x, 1, -1)
    return x.reshape(x.shape[0], -1)


@forward("Permute")
def permute(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Permute: transpose of the non-batch axes by `dims` (1-based)."""
    return np.transpose(single(inputs), (0, *(int(d) for d in config["dims"])))


@forward("RepeatVector")
def repeat_vector(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """RepeatVector: (N, F) → (N, n, F), the vector repeated n times."""
    x = single(inputs)
    return np.repeat(x[:, None, :], int(config["n"]), axis=1)
