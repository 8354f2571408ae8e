"""Pooling: Max/AveragePooling1D/2D/3D (valid or same), the global and the adaptive poolings.

Windows are views of the (channels-last) input, reduced over their tap axes. With `same`
padding, max pooling pads with −∞ and average pooling divides each window's sum by the number
of real (unpadded) cells in it, as TensorFlow does.
"""

from __future__ import annotations

import numpy as np

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
from app.reference.windows import pad_spatial, padding_amounts, windows


def _pool_options(config: Config, rank: int) -> tuple[tuple, tuple, str]:
    """pool_size, strides (default: pool_size) and padding from a pooling config."""
    pool = as_tuple(config.get("pool_size", 2), rank)
    strides = config.get("strides")
    return (
        pool,
        pool if strides is None else as_tuple(strides, rank),
        config.get("padding", "valid"),
    )


def _window_axes(rank: int) -> tuple[int, ...]:
    """The tap axes of an (N, *O, *K, C) window view."""
    return tuple(range(1 + rank, 1 + 2 * rank))


def max_pool(x: np.ndarray, pool: tuple, strides: tuple, padding: str) -> np.ndarray:
    """out[n, o…, c] = max over the window at o·stride of x[n, …, c]; padded cells are −∞.

    x: (N, *S, C) → (N, *O, C).
    """
    rank = len(pool)
    pads = padding_amounts(x.shape[1:-1], pool, strides, (1,) * rank, padding)
    view = windows(pad_spatial(x, pads, -np.inf), pool, strides, (1,) * rank)
    return view.max(axis=_window_axes(rank))


def average_pool(x: np.ndarray, pool: tuple, strides: tuple, padding: str) -> np.ndarray:
    """out[n, o…, c] = Σ window / (number of unpadded cells in the window).

    x: (N, *S, C) → (N, *O, C). For valid padding the count is Π pool_size.
    """
    rank = len(pool)
    ones = (1,) * rank
    pads = padding_amounts(x.shape[1:-1], pool, strides, ones, padding)
    axes = _window_axes(rank)
    sums = windows(pad_spatial(x, pads), pool, strides, ones).sum(axis=axes)
    mask = np.ones((1, *x.shape[1:-1], 1), dtype=x.dtype)
    counts = windows(pad_spatial(mask, pads), pool, strides, ones).sum(axis=axes)
    return sums / counts


def pool(config: Config, inputs: list[np.ndarray], rank: int, reduce) -> np.ndarray:
    """Apply `reduce` (max_pool or average_pool) in channels-last layout."""
    channels_first = is_channels_first(config)
    x = to_channels_last(single(inputs), channels_first)
    out = reduce(x, *_pool_options(config, rank))
    return from_channels_last(out, channels_first)


@forward("MaxPooling1D", "MaxPool1D")
def max_pooling1d(config: Config, weights: Weights, inputs: list[np.ndarray], training: bool):
    """MaxPooling1D: see `max_pool`."""
    return pool(config, inputs, 1, max_pool)


@forward("MaxPooling2D", "MaxPool2D")
def max_pooling2d(config: Config, weights: Weights, inputs: list[np.ndarray], training: bool):
    """MaxPooling2D: see `max_pool`."""
    return pool(config, inputs, 2, max_pool)


@forward("MaxPooling3D", "MaxPool3D")
def max_pooling3d(config: Config, weights: Weights, inputs: list[np.ndarray], training: bool):
    """MaxPooling3D: see `max_pool`."""
    return pool(config, inputs, 3, max_pool)


@forward("AveragePooling1D", "AvgPool1D")
def average_pooling1d(config: Config, weights: Weights, inputs: list[np.ndarray], training: bool):
    """AveragePooling1D: see `average_pool`."""
    return pool(config, inputs, 1, average_pool)


@forward("AveragePooling2D", "AvgPool2D")
def average_pooling2d(config: Config, weights: Weights, inputs: list[np.ndarray], training: bool):
    """AveragePooling2D: see `average_pool`."""
    return pool(config, inputs, 2, average_pool)


@forward("AveragePooling3D", "AvgPool3D")
def average_pooling3d(config: Config, weights: Weights, inputs: list[np.ndarray], training: bool):
    """AveragePooling3D: see `average_pool`."""
    return pool(config, inputs, 3, average_pool)


def global_pool(config: Config, inputs: list[np.ndarray], reduce) -> np.ndarray:
    """Reduce over every spatial axis: (N, *S, C) → (N, C), or (N, 1…, C) with keepdims.

    channels_first inputs (N, C, *S) reduce over axes 2… instead.
    """
    x = single(inputs)
    first = 2 if is_channels_first(config) else 1
    axes = tuple(range(first, first + x.ndim - 2))
    return reduce(x, axis=axes, keepdims=bool(config.get("keepdims", False)))


@forward("GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalAvgPool2D", "GlobalAvgPool3D")
def global_average_pooling(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """GlobalAveragePooling2D/3D: mean over the spatial axes."""
    return global_pool(config, inputs, np.mean)


@forward("GlobalAveragePooling1D", "GlobalAvgPool1D")
def global_average_pooling_1d(
    config: Config, weights: Weights, inputs: list[np.ndarray], training, masks=None
):
    """GlobalAveragePooling1D: mean over the steps. With a mask (N, T) (after an Embedding
    with `mask_zero=True`, say), the mean of the kept steps only:

        y[n, c] = Σ_t mask[n, t] · x[n, t, c] / Σ_t mask[n, t]

    (0/0, NaN, for a sample whose every step is masked, as Keras gives)."""
    mask = (masks or [None])[0]
    if mask is None:
        return global_pool(config, inputs, np.mean)
    x = single(inputs)
    channels_first = is_channels_first(config)
    steps, keepdims = (2 if channels_first else 1), bool(config.get("keepdims", False))
    kept = np.expand_dims(np.asarray(mask, dtype=bool), 1 if channels_first else 2)
    total = np.where(kept, x, np.zeros((), x.dtype)).sum(axis=steps, keepdims=keepdims)
    count = kept.astype(x.dtype).sum(axis=steps, keepdims=keepdims)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


@forward(
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPool3D",
)
def global_max_pooling(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """GlobalMaxPoolingND: max over the spatial axes."""
    return global_pool(config, inputs, np.max)


def adaptive_windows(length: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and length of each of the `size` windows that adaptive pooling takes on an axis.

    Window i spans [⌊i·L/size⌋, ⌈(i+1)·L/size⌉); its length is ⌈L/size⌉ or ⌈L/size⌉ + 1.
    """
    index = np.arange(size)
    starts = index * length // size
    ends = -(-(index + 1) * length // size)
    return starts, ends - starts


def adaptive_axis(x: np.ndarray, axis: int, size: int, reduce) -> np.ndarray:
    """Adaptive pooling along one axis: x (…, L, …) → (…, size, …).

    As Keras' backends compute it: `reduce` over every sliding window of each of the two
    lengths ⌈L/size⌉ and ⌈L/size⌉ + 1, then each output takes the window of its own length
    at its start.
    """
    starts, lengths = adaptive_windows(x.shape[axis], size)
    along_axis = [-1 if a == axis else 1 for a in range(x.ndim)]
    out = None
    for length in np.unique(lengths):
        pooled = reduce(np.lib.stride_tricks.sliding_window_view(x, length, axis=axis), axis=-1)
        picked = np.take(pooled, np.minimum(starts, pooled.shape[axis] - 1), axis=axis)
        chosen = (lengths == length).reshape(along_axis)
        out = picked if out is None else np.where(chosen, picked, out)
    return out


def adaptive_pool(config: Config, inputs: list[np.ndarray], rank: int, reduce) -> np.ndarray:
    """AdaptiveMax/AveragePoolingND: out[n, o…, c] = reduce over the window of o on each axis.

    x (N, *S, C) → (N, *output_size, C) (channels_first: (N, C, *S) → (N, C, *output_size)).
    The windows are separable, so the axes are pooled one after the other.
    """
    channels_first = is_channels_first(config)
    out = to_channels_last(single(inputs), channels_first)
    for axis, size in enumerate(as_tuple(config["output_size"], rank), start=1):
        out = adaptive_axis(out, axis, size, reduce)
    return from_channels_last(out, channels_first)


@forward("AdaptiveAveragePooling1D")
def adaptive_average_pooling1d(
    config: Config, weights: Weights, inputs: list[np.ndarray], training
):
    """AdaptiveAveragePooling1D: the mean over each adaptive window; see `adaptive_pool`."""
    return adaptive_pool(config, inputs, 1, np.mean)


@forward("AdaptiveAveragePooling2D")
def adaptive_average_pooling2d(
    config: Config, weights: Weights, inputs: list[np.ndarray], training
):
    """AdaptiveAveragePooling2D: the mean over each adaptive window; see `adaptive_pool`."""
    return adaptive_pool(config, inputs, 2, np.mean)


@forward("AdaptiveAveragePooling3D")
def adaptive_average_pooling3d(
    config: Config, weights: Weights, inputs: list[np.ndarray], training
):
    """AdaptiveAveragePooling3D: the mean over each adaptive window; see `adaptive_pool`."""
    return adaptive_pool(config, inputs, 3, np.mean)


@forward("AdaptiveMaxPooling1D")
def adaptive_max_pooling1d(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """AdaptiveMaxPooling1D: the maximum over each adaptive window; see `adaptive_pool`."""
    return adaptive_pool(config, inputs, 1, np.max)


@forward("AdaptiveMaxPooling2D")
def adaptive_max_pooling2d(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """AdaptiveMaxPooling2D: the maximum over each adaptive window; see `adaptive_pool`."""
    return adaptive_pool(config, inputs, 2, np.max)


@forward("AdaptiveMaxPooling3D")
def adaptive_max_pooling3d(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """AdaptiveMaxPooling3D: the maximum over each adaptive window; see `adaptive_pool`."""
    return adaptive_pool(config, inputs, 3, np.max)
