"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization,
UnitNormalization, RMSNormalization, and ConvNeXt's LayerScale.
"""

from __future__ import annotations

import numpy as np

from app.reference.forwards import (
    Config,
    Weights,
    forward,
    optional_weight,
    scalar,
    single,
    weight,
)


def config_axes(config: Config, rank: int, default: int = -1) -> list[int]:
    """The layer's `axis` (int or list; Keras 2 gives `[3]`) as sorted non-negative ints."""
    axis = config.get("axis", default)
    axes = axis if isinstance(axis, list | tuple) else [axis]
    return sorted(int(a) % rank for a in axes)


def along(v: np.ndarray | None, axes: list[int], x: np.ndarray) -> np.ndarray | None:
    """Reshape a per-`axes` parameter (shape x.shape[axes]) to broadcast against `x`."""
    if v is None:
        return None
    shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]
    return np.asarray(v, dtype=x.dtype).reshape(shape)


def affine(x: np.ndarray, mean, variance, epsilon: float, gamma, beta) -> np.ndarray:
    """gamma · (x − mean) / √(variance + epsilon) + beta, as x·inv + (beta − mean·inv)."""
    inv = scalar(1.0, x) / np.sqrt(variance + scalar(epsilon, x))
    if gamma is not None:
        inv = inv * gamma
    shift = -mean * inv
    if beta is not None:
        shift = shift + beta
    out = x * inv
    out += shift  # in place: one allocation of x's size instead of two
    return out


def moments(x: np.ndarray, axes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (biased) variance of `x` over `axes`, keepdims."""
    mean = x.mean(axis=axes, keepdims=True)
    variance = np.square(x - mean).mean(axis=axes, keepdims=True)
    return mean, variance


KERAS_EPSILON = 1e-7  # keras.config.epsilon(), which masked moments add to the count


def masked_moments(
    x: np.ndarray, mask: np.ndarray, axes: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Keras' BatchNormalization `_moments` with a mask (N, …) one axis short of `x`: mean
    and variance over the kept positions only, each sum divided by (count + 1e-7)."""
    kept = np.broadcast_to(np.asarray(mask, dtype=bool)[..., None], x.shape)
    zero = np.zeros((), x.dtype)
    count = kept.astype(x.dtype).sum(axis=axes, keepdims=True) + scalar(KERAS_EPSILON, x)
    mean = np.where(kept, x, zero).sum(axis=axes, keepdims=True) / count
    variance = np.square(np.where(kept, x - mean, zero)).sum(axis=axes, keepdims=True) / count
    return mean, variance


@forward("BatchNormalization", "SyncBatchNormalization")
def batch_normalization(
    config: Config, weights: Weights, inputs: list[np.ndarray], training, masks=None
):
    """BatchNormalization.

    Inference: gamma · (x − moving_mean) / √(moving_variance + epsilon) + beta.
    Training (training=True and the layer trainable): the same with the batch's mean and biased
    variance over every axis except `axis` (the moving statistics are not updated here);
    with a mask (after an Embedding with `mask_zero=True`), over the kept positions only.
    gamma/beta are absent when `scale`/`center` is False. Batch renormalization
    (`renorm=True`) in training mode is not modelled.

    Shapes: x (N, …), each weight (x.shape[axis],); output like x.
    """
    x = single(inputs)
    axes = config_axes(config, x.ndim)
    mask = (masks or [None])[0]
    if training and config.get("trainable", True):
        reduced = tuple(a for a in range(x.ndim) if a not in axes)
        if mask is None:
            mean, variance = moments(x, reduced)
        else:
            mean, variance = masked_moments(x, mask, reduced)
    else:
        mean = along(weight(weights, "moving_mean"), axes, x)
        variance = along(weight(weights, "moving_variance"), axes, x)
    gamma = along(optional_weight(weights, "gamma"), axes, x)
    beta = along(optional_weight(weights, "beta"), axes, x)
    return affine(x, mean, variance, config.get("epsilon", 1e-3), gamma, beta)


@forward("LayerNormalization")
def layer_normalization(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """LayerNormalization: gamma · (x − mean) / √(var + epsilon) + beta, moments over `axis`.

    Each sample is normalized on its own. The deprecated `rms_scaling=True` computes
    x / √(var + epsilon) · gamma (no centering), as Keras does. Shapes: x (N, …),
    gamma/beta x.shape[axis]; output like x.
    """
    x = single(inputs)
    axes = config_axes(config, x.ndim)
    mean, variance = moments(x, tuple(axes))
    gamma = along(optional_weight(weights, "gamma"), axes, x)
    epsilon = config.get("epsilon", 1e-3)
    if config.get("rms_scaling", False):
        out = x / np.sqrt(variance + scalar(epsilon, x))
        return out if gamma is None else out * gamma
    beta = along(optional_weight(weights, "beta"), axes, x)
    return _centred(x, mean, variance, epsilon, gamma, beta)


def _centred(x: np.ndarray, mean, variance, epsilon: float, gamma, beta) -> np.ndarray:
    """gamma · (x − mean) / √(variance + epsilon) + beta, computed in float64 and rounded once.

    Not as x·inv + (beta − mean·inv), BatchNormalization's order: over few features x·inv and
    mean·inv are large and nearly equal, and their difference is rounding. Keras' `predict`
    (its compiled graph fuses the multiply-adds) returns the centred value: a
    LayerNormalization over a single feature gives exactly beta (a wild transformer's
    LayerNormalization(epsilon=1e-6) on a (time, 1) series), where x·inv + … gives beta plus
    noise of 1e-4 of x.
    """
    wide = np.float64
    inv = 1.0 / np.sqrt(variance.astype(wide) + epsilon)
    if gamma is not None:
        inv = inv * gamma.astype(wide)
    out = (x.astype(wide) - mean.astype(wide)) * inv
    if beta is not None:
        out += beta.astype(wide)
    return out.astype(x.dtype)


@forward("GroupNormalization")
def group_normalization(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """GroupNormalization: channels along `axis` split into `groups` groups of C/groups
    (`groups=-1`: one per channel).

    x̂ = (x − mean_g) / √(var_g + epsilon), moments over every non-batch axis within a group;
    output = gamma · x̂ + beta (per channel). Shapes: x (N, …, C, …), gamma/beta (C,).
    """
    x = single(inputs)
    axis = config_axes(config, x.ndim)[0]
    groups = int(config.get("groups", 32))
    groups = x.shape[axis] if groups == -1 else groups  # −1: one group per channel
    grouped_shape = (*x.shape[:axis], groups, x.shape[axis] // groups, *x.shape[axis + 1 :])
    xg = x.reshape(grouped_shape)
    reduce = tuple(a for a in range(1, xg.ndim) if a != axis)
    mean, variance = moments(xg, reduce)
    epsilon = scalar(config.get("epsilon", 1e-3), x)
    out = ((xg - mean) / np.sqrt(variance + epsilon)).reshape(x.shape)
    gamma = along(optional_weight(weights, "gamma"), [axis], x)
    beta = along(optional_weight(weights, "beta"), [axis], x)
    out = out if gamma is None else out * gamma
    return out if beta is None else out + beta


@forward("UnitNormalization")
def unit_normalization(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """UnitNormalization: x / max(‖x‖₂ over `axis`, 1e-12)."""
    x = single(inputs)
    axes = tuple(config_axes(config, x.ndim))
    norm = np.sqrt(np.sum(np.square(x), axis=axes, keepdims=True))
    return x / np.maximum(norm, scalar(1e-12, x))


@forward("RMSNormalization")
def rms_normalization(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """RMSNormalization: x / √(mean(x²) over `axis` + epsilon) · scale (epsilon default 1e-6)."""
    x = single(inputs)
    axes = config_axes(config, x.ndim)
    mean_square = np.mean(np.square(x), axis=tuple(axes), keepdims=True)
    out = x / np.sqrt(mean_square + scalar(config.get("epsilon", 1e-6), x))
    scale = along(optional_weight(weights, "scale"), axes, x)
    return out if scale is None else out * scale


@forward("LayerScale")
def layer_scale(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """ConvNeXt's LayerScale: x · gamma, gamma (projection_dim,) over the last axis.

    Keras names the variable `variable` (the layer calls add_weight without a name).
    """
    x = single(inputs)
    return x * weight(weights, "gamma", "variable").astype(x.dtype)
