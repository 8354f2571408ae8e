"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization, ..."""

from __future__ import annotations

from app.layers.registry import Config, WeightSpec, register, same_shape, single


def normalized_axes(config: Config, rank: int) -> list[int]:
    """The layer's `axis` as non-negative ints; Keras 2 files may give a list (`[3]`)."""
    axis = config.get("axis", -1)
    axes = axis if isinstance(axis, list | tuple) else [axis]
    return [int(a) % rank for a in axes]


def batchnorm_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """gamma, beta (trainable; absent when scale/center is False), moving_mean,
    moving_variance (non-trainable), each of shape (channels,) along `axis`."""
    shape = single(input_shapes)
    channels = tuple(int(shape[a]) for a in normalized_axes(config, len(shape)))
    weights = []
    if config.get("scale", True):
        weights.append(WeightSpec("gamma", "gamma", channels))
    if config.get("center", True):
        weights.append(WeightSpec("beta", "beta", channels))
    weights.append(WeightSpec("moving_mean", "moving_mean", channels, trainable=False))
    weights.append(WeightSpec("moving_variance", "moving_variance", channels, trainable=False))
    return weights


register(
    "BatchNormalization",
    family="normalization",
    summary=(
        "Inference: gamma · (x − moving_mean) / √(moving_variance + epsilon) + beta; "
        "training: the same with the batch's mean and variance."
    ),
    weights=batchnorm_weights,
    aliases=("SyncBatchNormalization",),
)(same_shape)
