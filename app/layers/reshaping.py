"""Reshaping layers: ZeroPadding, Cropping, UpSampling (1 to 3 D), Reshape, Flatten, Permute,
RepeatVector. None of them has weights.

Shapes follow each class's `compute_output_shape` in keras/src/layers/reshaping/. Unknown
(`None`) lengths stay unknown. `data_format` puts the spatial axes at 1.. (`channels_last`, the
default) or 2.. (`channels_first`); Cropping1D and UpSampling1D always use axis 1.
"""

from __future__ import annotations

import math

from app.layers.convolution import for_rank, spatial_axes
from app.layers.fields import DIMS, PADDING_AMOUNTS, TARGET_SHAPE
from app.layers.registry import LAYERS_MODULE, Config, normalize_tuple, register, single

# ZeroPadding, Cropping ---------------------------------------------------------------------


def edge_pairs(value, rank: int) -> list[tuple[int, int]]:
    """Keras' (before, after) pair per spatial axis from an int, `rank` ints, or `rank` pairs.

    1D takes an int or one pair: `1` → [(1, 1)], `(1, 2)` → [(1, 2)]. 2D/3D take an int, one
    int per axis (`(1, 2)` → [(1, 1), (2, 2)]) or one pair per axis.
    """
    if rank == 1:
        pair = normalize_tuple(value, 2)
        return [_pair(pair)]
    if isinstance(value, int):
        return [(value, value)] * rank
    if len(value) != rank:
        raise ValueError(f"expected {rank} entries, got {value!r}")
    return [_pair(normalize_tuple(entry, 2)) for entry in value]


def _pair(values) -> tuple[int, int]:
    before, after = (int(v) for v in values)
    if before < 0 or after < 0:
        raise ValueError(f"padding and cropping cannot be negative, got {values!r}")
    return before, after


def zero_padding_output(config: Config, input_shapes: list) -> tuple:
    """Each spatial length n becomes n + before + after."""
    shape = single(input_shapes)
    output = list(shape)
    pairs = edge_pairs(config.get("padding", 1), len(shape) - 2)
    for axis, (before, after) in zip(spatial_axes(config, len(shape)), pairs, strict=True):
        if shape[axis] is not None:
            output[axis] = shape[axis] + before + after
    return tuple(output)


def cropping_output(config: Config, input_shapes: list) -> tuple:
    """Each spatial length n becomes n − before − after, which must stay at least 1."""
    shape = single(input_shapes)
    rank = len(shape) - 2
    output = list(shape)
    pairs = edge_pairs(config.get("cropping", 0 if rank == 2 else 1), rank)
    axes = [1] if rank == 1 else spatial_axes(config, len(shape))
    for axis, (before, after) in zip(axes, pairs, strict=True):
        if shape[axis] is not None:
            output[axis] = shape[axis] - before - after
            if output[axis] <= 0:
                raise ValueError(f"cropping {(before, after)} removes all of axis {axis}")
    return tuple(output)


for _rank in (1, 2, 3):
    register(
        f"ZeroPadding{_rank}D",
        family="reshaping",
        fields={"padding": PADDING_AMOUNTS},
        summary=(
            "output = inputs with `padding` zeros added before and after each spatial axis: "
            "each length n becomes n + before + after."
        ),
    )(for_rank(_rank, zero_padding_output))
    register(
        f"Cropping{_rank}D",
        family="reshaping",
        fields={"cropping": PADDING_AMOUNTS},
        summary=(
            "output = inputs with `cropping` entries removed from the start and end of each "
            "spatial axis: each length n becomes n − before − after."
        ),
    )(for_rank(_rank, cropping_output))


# UpSampling --------------------------------------------------------------------------------


def up_sampling_output(config: Config, input_shapes: list) -> tuple:
    """Each spatial length n becomes n · size along its axis."""
    shape = single(input_shapes)
    rank = len(shape) - 2
    size = tuple(int(s) for s in normalize_tuple(config.get("size", 2), rank))
    if len(size) != rank:
        raise ValueError(f"expected {rank} sizes, got {config.get('size')!r}")
    axes = [1] if rank == 1 else spatial_axes(config, len(shape))
    output = list(shape)
    for axis, factor in zip(axes, size, strict=True):
        if shape[axis] is not None:
            output[axis] = shape[axis] * factor
    return tuple(output)


for _rank in (1, 2, 3):
    register(
        f"UpSampling{_rank}D",
        family="reshaping",
        summary=(
            "output = inputs with every entry repeated `size` times along each spatial axis "
            "(UpSampling2D may interpolate bilinearly): each length n becomes n · size."
        ),
    )(for_rank(_rank, up_sampling_output))


# Reshape, Flatten, Permute, RepeatVector ---------------------------------------------------


@register(
    "Reshape",
    family="reshaping",
    fields={"target_shape": TARGET_SHAPE},
    summary=(
        "output = inputs with the same entries in row-major order, each sample reshaped to "
        "target_shape (one -1 takes whatever size is left)."
    ),
    modules=(LAYERS_MODULE, "keras.src.ops.numpy"),  # a Functional config's ops.reshape, too
)
def reshape_output(config: Config, input_shapes: list) -> tuple:
    """(batch, *target_shape) with a -1 resolved to size(input) / size(known target dims)."""
    shape = single(input_shapes)
    target = tuple(int(d) for d in config["target_shape"])
    if any(d < -1 for d in target) or target.count(-1) > 1:
        raise ValueError(f"target_shape takes sizes and at most one -1, got {target}")
    if None in shape[1:]:
        return (shape[0], *(None if d == -1 else d for d in target))
    return (shape[0], *_resolve_target(math.prod(shape[1:]), target))


def _resolve_target(size: int, target: tuple[int, ...]) -> tuple[int, ...]:
    known = math.prod(d for d in target if d != -1)
    if -1 not in target:
        if known != size:
            raise ValueError(f"cannot reshape {size} entries into {target}")
        return target
    if known == 0 or size % known:
        raise ValueError(f"cannot reshape {size} entries into {target}")
    return tuple(size // known if d == -1 else d for d in target)


@register(
    "Flatten",
    family="reshaping",
    summary=(
        "output = inputs reshaped to (batch, product of the other axes); channels_first "
        "inputs are first transposed to channels last, so the order matches."
    ),
)
def flatten_output(config: Config, input_shapes: list) -> tuple:
    """(batch, d1 · d2 · ...), None when any of them is unknown, 1 for a batch-only input."""
    shape = single(input_shapes)
    rest = shape[1:]
    if any(d is None for d in rest):
        return (shape[0], None)
    return (shape[0], math.prod(rest))


@register(
    "Permute",
    family="reshaping",
    fields={"dims": DIMS},
    summary="output = transpose(inputs, (0, *dims)): the non-batch axes reordered by `dims`.",
)
def permute_output(config: Config, input_shapes: list) -> tuple:
    """(batch, shape[dims[0]], shape[dims[1]], ...), dims counting from 1."""
    shape = single(input_shapes)
    dims = [int(d) for d in config["dims"]]
    if sorted(dims) != list(range(1, len(shape))):
        raise ValueError(f"dims must order the axes 1..{len(shape) - 1}, got {dims}")
    return (shape[0], *(shape[d] for d in dims))


@register(
    "RepeatVector",
    family="reshaping",
    summary="output[:, i, :] = inputs for i < n: each (batch, features) vector repeated n times.",
)
def repeat_vector_output(config: Config, input_shapes: list) -> tuple:
    """(batch, n, features) from (batch, features)."""
    shape = single(input_shapes)
    if len(shape) != 2:
        raise ValueError(f"RepeatVector takes (batch, features), got {shape}")
    return (shape[0], int(config["n"]), shape[1])
