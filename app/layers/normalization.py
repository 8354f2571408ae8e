"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization,
UnitNormalization, RMSNormalization, and ConvNeXt's LayerScale.

SpectralNormalization, a wrapper, is with the wrappers (app/layers/wrappers.py).
"""

from __future__ import annotations

from app.graph import Shape
from app.layers.fields import INTEGER, NUMBER, POSITIVE
from app.layers.registry import (
    LAYERS_MODULE,
    Config,
    Traits,
    WeightSpec,
    register,
    same_shape,
    single,
)

FAMILY = "normalization"
PASSES_MASK = Traits(passes_mask=True)
# BatchNormalization, LayerNormalization, GroupNormalization: `autocast=False` variables.
NOT_AUTOCAST = Traits(passes_mask=True, float32_variables=True)


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
    weights.append(WeightSpec("moving_mean", "moving_mean", channels))
    weights.append(WeightSpec("moving_variance", "moving_variance", channels))
    return weights


register(
    "BatchNormalization",
    family=FAMILY,
    summary=(
        "Inference: gamma · (x − moving_mean) / √(moving_variance + epsilon) + beta; "
        "training: the same with the batch's mean and variance."
    ),
    weights=batchnorm_weights,
    traits=NOT_AUTOCAST,
    fields={"mode": INTEGER},  # Keras 1: 0 feature-wise, 2 batch statistics at inference
    aliases=("SyncBatchNormalization",),
    # tf.keras 2.14+ writes SyncBatchNormalization where it kept it, `keras.layers.experimental`
    modules=(LAYERS_MODULE, "keras.layers.experimental"),
)(same_shape)


def _checked_axes(config: Config, shape: Shape) -> list[int]:
    """`axis` as given (int or list), each checked to lie in [-rank, rank)."""
    axis = config.get("axis", -1)
    axes = list(axis) if isinstance(axis, list | tuple) else [axis]
    for a in axes:
        if not -len(shape) <= int(a) < len(shape):
            raise ValueError(f"axis {a} is out of bounds for input shape {shape}")
    return [int(a) for a in axes]


def param_shape(config: Config, input_shapes: list) -> tuple[int, ...]:
    """Shape of a per-feature parameter over `axis`: the input's sizes at `sorted(axis)`.

    Keras sorts the axes as given, so `axis=[-1, 1]` on (None, 5, 4) gives (4, 5).
    """
    shape = single(input_shapes)
    dims = tuple(shape[a] for a in sorted(_checked_axes(config, shape)))
    if None in dims:
        raise ValueError(f"the normalized axes of {shape} must have a known size")
    return tuple(int(d) for d in dims)


def layernorm_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """gamma (when scale or rms_scaling), then beta (when center and not rms_scaling), both
    trainable with the input's sizes over `axis` (e.g. axis=-1 on (None, 5, 4): (4,))."""
    shape = param_shape(config, input_shapes)
    rms = bool(config.get("rms_scaling", False))
    weights = []
    if config.get("scale", True) or rms:
        weights.append(WeightSpec("gamma", "gamma", shape))
    if config.get("center", True) and not rms:
        weights.append(WeightSpec("beta", "beta", shape))
    return weights


def checked_same_shape(config: Config, input_shapes: list) -> Shape:
    """The input shape, after checking every `axis` lies within it."""
    shape = single(input_shapes)
    _checked_axes(config, shape)
    return shape


register(
    "LayerNormalization",
    family=FAMILY,
    summary=(
        "output = gamma · (x − mean) / √(variance + epsilon) + beta, mean and variance over "
        "`axis` of each sample (rms_scaling: x · gamma / √(variance + epsilon), no beta)."
    ),
    weights=layernorm_weights,
    traits=NOT_AUTOCAST,
)(checked_same_shape)


def _group_channels(config: Config, input_shapes: list) -> int:
    """The size of `axis`, after Keras' checks that `groups` divides it (-1: one per channel)."""
    shape = single(input_shapes)
    dim = shape[int(config.get("axis", -1))]
    if dim is None:
        raise ValueError(f"the axis of GroupNormalization must have a known size: {shape}")
    groups = int(config.get("groups", 32))
    groups = dim if groups == -1 else groups
    if groups <= 0 or dim < groups or dim % groups:
        raise ValueError(f"groups={groups} does not divide {dim} channels")
    return int(dim)


def groupnorm_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """gamma (when scale), then beta (when center), both trainable of shape (channels,):
    one per channel along `axis`, shared by the groups' statistics."""
    channels = (_group_channels(config, input_shapes),)
    weights = []
    if config.get("scale", True):
        weights.append(WeightSpec("gamma", "gamma", channels))
    if config.get("center", True):
        weights.append(WeightSpec("beta", "beta", channels))
    return weights


register(
    "GroupNormalization",
    family=FAMILY,
    summary=(
        "output = gamma · (x − mean) / √(variance + epsilon) + beta, mean and variance per "
        "sample over each of `groups` channel groups along `axis` and all other axes."
    ),
    weights=groupnorm_weights,
    traits=NOT_AUTOCAST,
)(checked_same_shape)


register(
    "UnitNormalization",
    family=FAMILY,
    summary="output = x / max(√(Σ x² over axis), 1e-12): each sample scaled to unit L2 norm.",
    traits=PASSES_MASK,
)(checked_same_shape)


def rmsnorm_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """scale (trainable) with the input's sizes over `axis` (axis=-1 on (None, 5, 4): (4,))."""
    return [WeightSpec("scale", "scale", param_shape(config, input_shapes))]


register(
    "RMSNormalization",
    family=FAMILY,
    summary="output = x · scale / √(mean(x² over axis) + epsilon).",
    weights=rmsnorm_weights,
)(checked_same_shape)


# From keras.applications ------------------------------------------------------------------


def layer_scale_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """gamma (projection_dim,), trainable; ConvNeXt adds it without a name, so Keras calls the
    variable `variable`."""
    return [WeightSpec("variable", "gamma", (int(config["projection_dim"]),))]


register(
    "LayerScale",
    family=FAMILY,
    summary="output = x · gamma, one learned factor per channel (ConvNeXt's layer scale).",
    weights=layer_scale_weights,
    fields={"projection_dim": POSITIVE, "init_values": NUMBER},
    modules=("keras.src.applications.convnext",),  # ConvNeXt's own: not in keras.layers
)(same_shape)
