"""Pooling layers: MaxPooling, AveragePooling, their Global and Adaptive forms, in 1 to 3 D.

None of them has weights. Window pooling follows Keras' `compute_pooling_output_shape`
(keras/src/ops/operation_utils.py): with n the input length, pool_size k and strides s
(default: pool_size), each spatial length becomes ⌊(n − k) / s⌋ + 1 for `valid` padding and
⌊(n − 1) / s⌋ + 1 for `same`. Global pooling drops the spatial axes (or keeps them as 1 with
`keepdims`); adaptive pooling sets them to `output_size`.
"""

from __future__ import annotations

from app.layers.convolution import for_rank, spatial_axes, window_length
from app.layers.registry import Config, channel_axis, normalize_tuple, register, single


def _per_axis(value, rank: int) -> tuple[int, ...]:
    values = tuple(int(v) for v in normalize_tuple(value, rank))
    if len(values) != rank:
        raise ValueError(f"expected {rank} values, got {value!r}")
    return values


# MaxPooling, AveragePooling ----------------------------------------------------------------


def pooling_output(config: Config, input_shapes: list) -> tuple:
    """(batch, *lengths, channels), each length ⌊(n − pool_size)/strides⌋ + 1 (valid) or
    ⌊(n − 1)/strides⌋ + 1 (same); strides default to pool_size."""
    shape = single(input_shapes)
    rank = len(shape) - 2
    pool_size = _per_axis(config.get("pool_size", 2), rank)
    strides = config.get("strides")
    strides = pool_size if strides is None else _per_axis(strides, rank)
    padding = str(config.get("padding", "valid")).lower()
    output = list(shape)
    for axis, k, s in zip(spatial_axes(config, len(shape)), pool_size, strides, strict=True):
        output[axis] = window_length(shape[axis], k, s, 1, padding)
    return tuple(output)


_WINDOW_SUMMARIES = {
    "MaxPooling": "output = the maximum over each pool_size window",
    "AveragePooling": "output = the mean over each pool_size window",
}
_WINDOW_ALIASES = {"MaxPooling": "MaxPool", "AveragePooling": "AvgPool"}

for _kind, _what in _WINDOW_SUMMARIES.items():
    for _rank in (1, 2, 3):
        register(
            f"{_kind}{_rank}D",
            family="pooling",
            summary=(
                f"{_what}, moved by strides (default pool_size) over the spatial axes, per "
                "channel: each length becomes ⌊(n − pool_size) / strides⌋ + 1 for valid "
                "padding, ⌊(n − 1) / strides⌋ + 1 for same."
            ),
            aliases=(f"{_WINDOW_ALIASES[_kind]}{_rank}D",),
        )(for_rank(_rank, pooling_output))


# GlobalMaxPooling, GlobalAveragePooling ----------------------------------------------------


def global_pooling_output(config: Config, input_shapes: list) -> tuple:
    """(batch, channels), or with keepdims (batch, 1, ..., 1, channels) in `data_format` order."""
    shape = single(input_shapes)
    axis = channel_axis(config, len(shape))
    if not config.get("keepdims", False):
        return (shape[0], shape[axis])
    return tuple(d if i in (0, axis) else 1 for i, d in enumerate(shape))


_GLOBAL_SUMMARIES = {
    "GlobalMaxPooling": "output = max over all spatial axes of inputs, per channel",
    "GlobalAveragePooling": "output = mean over all spatial axes of inputs, per channel",
}
_GLOBAL_ALIASES = {"GlobalMaxPooling": "GlobalMaxPool", "GlobalAveragePooling": "GlobalAvgPool"}

for _kind, _what in _GLOBAL_SUMMARIES.items():
    for _rank in (1, 2, 3):
        register(
            f"{_kind}{_rank}D",
            family="pooling",
            summary=f"{_what} (kept as length-1 axes when keepdims is True).",
            aliases=(f"{_GLOBAL_ALIASES[_kind]}{_rank}D",),
        )(for_rank(_rank, global_pooling_output))


# AdaptiveMaxPooling, AdaptiveAveragePooling ------------------------------------------------


def adaptive_pooling_output(config: Config, input_shapes: list) -> tuple:
    """(batch, *output_size, channels) in `data_format` order, whatever the input lengths."""
    shape = single(input_shapes)
    output_size = _per_axis(config["output_size"], len(shape) - 2)
    axis = channel_axis(config, len(shape))
    if axis == 1:
        return (shape[0], shape[1], *output_size)
    return (shape[0], *output_size, shape[-1])


_ADAPTIVE_SUMMARIES = {
    "AdaptiveMaxPooling": "maximum",
    "AdaptiveAveragePooling": "mean",
}

for _kind, _what in _ADAPTIVE_SUMMARIES.items():
    for _rank in (1, 2, 3):
        register(
            f"{_kind}{_rank}D",
            family="pooling",
            summary=(
                f"output = the {_what} over windows whose size and strides are worked out so "
                "that the spatial axes become exactly output_size, per channel."
            ),
        )(for_rank(_rank, adaptive_pooling_output))
