"""Convolution layers: Conv, ConvTranspose, DepthwiseConv and SeparableConv, in 1 to 3 D.

Output lengths follow Keras' `compute_conv_output_shape` (keras/src/ops/operation_utils.py)
and `compute_conv_transpose_output_shape` (keras/src/backend/common/backend_utils.py), one
spatial axis at a time. With n the input length, k the kernel_size, s the strides, d the
dilation_rate and k_eff = d·(k − 1) + 1:

- convolution, `valid`:          ⌊(n − k_eff) / s⌋ + 1 (must be at least 1)
- convolution, `same`/`causal`:  ⌊(n − 1) / s⌋ + 1
- transpose, `valid`:            (n − 1)·s + max(k_eff, s); with output_padding p:
                                 (n − 1)·s + k_eff + p
- transpose, `same`:             n·s; with output_padding p: (n − 1)·s + (k_eff mod 2) + p

An unknown (`None`) length stays unknown. Channels are the last axis for `channels_last`
(the default) and axis 1 for `channels_first`. Keras 2 configs are accepted as written: lists
for tuples, `groups: 1` in DepthwiseConv2D, and `causal` padding in DepthwiseConv1D and
SeparableConv1D (Keras 3 refuses it there; its lengths are those of `same`).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.graph import Shape
from app.layers.registry import (
    UNUSED_BY_KERAS2,
    Config,
    OutputShapeFn,
    Traits,
    WeightSpec,
    channel_axis,
    normalize_tuple,
    register,
    single,
)

# Shared with pooling and reshaping ------------------------------------------------------


def for_rank(rank: int, output_shape: OutputShapeFn) -> OutputShapeFn:
    """`output_shape` for a class whose input has `rank` spatial axes (batch, channels too)."""

    def checked(config: Config, input_shapes: list):
        shape = single(input_shapes)
        if len(shape) != rank + 2:
            raise ValueError(f"expected an input with {rank + 2} axes, got {shape}")
        return output_shape(config, input_shapes)

    checked.__doc__ = output_shape.__doc__
    return checked


def spatial_axes(config: Config, rank: int) -> list[int]:
    """The spatial axes of a (batch, ..., channels) tensor of `rank` axes for `data_format`."""
    first = 2 if channel_axis(config, rank) == 1 else 1
    return list(range(first, first + rank - 2))


def window_length(n: int | None, k: int, s: int, d: int, padding: str) -> int | None:
    """Output length of a sliding window: ⌊(n − k_eff)/s⌋ + 1 (valid), ⌊(n − 1)/s⌋ + 1 (same)."""
    if n is None:
        return None
    if padding in ("same", "causal"):
        return (n - 1) // s + 1
    if padding != "valid":
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    length = (n - d * (k - 1) - 1) // s + 1
    if length <= 0:
        raise ValueError(f"window of {k} (dilation {d}) does not fit an input of length {n}")
    return length


def _transpose_length(n: int | None, k: int, s: int, d: int, padding: str, p) -> int | None:
    """Output length of a transposed convolution (formulas in the module docstring)."""
    if n is None:
        return None
    k_eff = d * (k - 1) + 1
    if padding == "valid":
        return (n - 1) * s + (max(k_eff, s) if p is None else k_eff + p)
    if padding == "same":
        return n * s if p is None else (n - 1) * s + k_eff % 2 + p
    raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")


# Window settings and channels ------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A convolution's kernel_size, strides and dilation_rate (one entry per spatial axis)."""

    kernel_size: tuple[int, ...]
    strides: tuple[int, ...]
    dilation_rate: tuple[int, ...]
    padding: str


def conv_window(config: Config, rank: int, causal: bool = False) -> Window:
    """The layer's window settings with Keras' defaults; `causal` padding only where allowed."""
    padding = str(config.get("padding", "valid")).lower()
    if padding == "causal" and not causal:
        raise ValueError("causal padding is only for 1D convolutions")
    return Window(
        kernel_size=_spatial_tuple(config["kernel_size"], rank),
        strides=_spatial_tuple(config.get("strides", 1), rank),
        dilation_rate=_spatial_tuple(config.get("dilation_rate", 1), rank),
        padding=padding,
    )


def _spatial_tuple(value, rank: int) -> tuple[int, ...]:
    values = tuple(int(v) for v in normalize_tuple(value, rank))
    if len(values) != rank:
        raise ValueError(f"expected {rank} values, got {value!r}")
    return values


def input_channels(config: Config, shape: Shape) -> int:
    """The input's channel count along `data_format`'s channel axis; it must be known."""
    channels = shape[channel_axis(config, len(shape))]
    if channels is None:
        raise ValueError("the input's channel dimension must be known")
    return int(channels)


def _with_spatial(config: Config, shape: Shape, spatial: list, channels: int) -> tuple:
    if channel_axis(config, len(shape)) == 1:
        return (shape[0], channels, *spatial)
    return (shape[0], *spatial, channels)


def _conv_shape(config: Config, shape: Shape, window: Window, channels: int) -> tuple:
    lengths = [
        window_length(shape[axis], k, s, d, window.padding)
        for axis, k, s, d in zip(
            spatial_axes(config, len(shape)),
            window.kernel_size,
            window.strides,
            window.dilation_rate,
            strict=True,
        )
    ]
    return _with_spatial(config, shape, lengths, channels)


def _bias(config: Config, size: int) -> list[WeightSpec]:
    return [WeightSpec("bias", "bias", (size,))] if config.get("use_bias", True) else []


# Conv1D, Conv2D, Conv3D --------------------------------------------------------------------


def conv_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """kernel kernel_size + (in_channels // groups, filters), then bias (filters,) when
    use_bias. E.g. Conv2D(8, 3) on 4 channels: kernel (3, 3, 4, 8), bias (8,)."""
    shape = single(input_shapes)
    channels, groups = input_channels(config, shape), int(config.get("groups", 1))
    if groups <= 0 or channels % groups:
        raise ValueError(f"{channels} input channels cannot be split into {groups} groups")
    filters = int(config["filters"])
    if filters % groups:
        raise ValueError(f"{filters} filters cannot be split into {groups} groups")
    kernel_size = _spatial_tuple(config["kernel_size"], len(shape) - 2)
    kernel = WeightSpec("kernel", "kernel", (*kernel_size, channels // groups, filters))
    return [kernel, *_bias(config, filters)]


def conv_output(config: Config, input_shapes: list) -> tuple:
    """(batch, *lengths, filters), channels first or last as `data_format` says."""
    shape = single(input_shapes)
    rank = len(shape) - 2
    window = conv_window(config, rank, causal=rank == 1)
    return _conv_shape(config, shape, window, int(config["filters"]))


CONV_SUMMARY = (
    "output = activation(conv(inputs, kernel) + bias): `filters` kernels of kernel_size slide "
    "over the spatial axes (in_channels split into `groups`), each output length "
    "⌊(n − dilation_rate·(kernel_size − 1) − 1) / strides⌋ + 1 for valid padding, "
    "⌊(n − 1) / strides⌋ + 1 for same or causal."
)

for _rank in (1, 2, 3):
    register(
        f"Conv{_rank}D",
        family="convolution",
        summary=CONV_SUMMARY,
        weights=conv_weights,
        aliases=(f"Convolution{_rank}D",),
    )(for_rank(_rank, conv_output))


# Conv1DTranspose, Conv2DTranspose, Conv3DTranspose ---------------------------------------


def conv_transpose_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """kernel kernel_size + (filters, in_channels) (output channels before input channels),
    then bias (filters,) when use_bias. E.g. Conv2DTranspose(8, 3) on 4 channels:
    kernel (3, 3, 8, 4), bias (8,)."""
    shape = single(input_shapes)
    filters = int(config["filters"])
    kernel_size = _spatial_tuple(config["kernel_size"], len(shape) - 2)
    kernel = WeightSpec("kernel", "kernel", (*kernel_size, filters, input_channels(config, shape)))
    return [kernel, *_bias(config, filters)]


def conv_transpose_output(config: Config, input_shapes: list) -> tuple:
    """(batch, *lengths, filters), each length from the transpose formulas above."""
    shape = single(input_shapes)
    rank = len(shape) - 2
    window = conv_window(config, rank)
    padding = config.get("output_padding")
    paddings = [None] * rank if padding is None else _output_padding(padding, rank)
    lengths = [
        _transpose_length(shape[axis], k, s, d, window.padding, p)
        for axis, k, s, d, p in zip(
            spatial_axes(config, len(shape)),
            window.kernel_size,
            window.strides,
            window.dilation_rate,
            paddings,
            strict=True,
        )
    ]
    return _with_spatial(config, shape, lengths, int(config["filters"]))


# tf.keras 2.x wrote `groups` (1) into every convolution's config, the transposed,
# depthwise and separable ones included (tf.keras 2.13+ for Conv*Transpose); Keras 3 takes
# it only on Conv1D/2D/3D.
KERAS2_GROUPS = Traits(keras2_defaults={"groups": 1})
TRANSPOSED = Traits(keras2_defaults={"groups": 1}, channel_axis=-2)  # kernel (..., filters, in)
# tf.keras 2.1 SeparableConv also wrote the plain convolution's kernel settings, which it
# never used (its kernels are depthwise_ and pointwise_).
KERAS2_SEPARABLE = Traits(
    keras2_defaults={
        "groups": 1,
        **dict.fromkeys(
            ("kernel_initializer", "kernel_regularizer", "kernel_constraint"), UNUSED_BY_KERAS2
        ),
    }
)


def _output_padding(value, rank: int) -> tuple[int, ...]:
    return tuple(int(v) for v in normalize_tuple(value, rank))


for _rank in (1, 2, 3):
    register(
        f"Conv{_rank}DTranspose",
        family="convolution",
        summary=(
            "output = activation(conv_transpose(inputs, kernel) + bias), the gradient of a "
            "convolution that upsamples by strides: each output length is "
            "(n − 1)·strides + max(kernel_size, strides) for valid padding and n·strides "
            "for same (output_padding, when given, sets the extra length)."
        ),
        weights=conv_transpose_weights,
        traits=TRANSPOSED,
        aliases=(f"Convolution{_rank}DTranspose",),
    )(for_rank(_rank, conv_transpose_output))


# DepthwiseConv1D, DepthwiseConv2D ----------------------------------------------------------


def depthwise_conv_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """`kernel` (role depthwise_kernel) kernel_size + (in_channels, depth_multiplier), then bias
    (in_channels · depth_multiplier,) when use_bias. Keras 3 names the variable `kernel`;
    Keras 2 files store it as `depthwise_kernel`."""
    shape = single(input_shapes)
    channels = input_channels(config, shape)
    multiplier = int(config.get("depth_multiplier", 1))
    kernel_size = _spatial_tuple(config["kernel_size"], len(shape) - 2)
    kernel = WeightSpec("kernel", "depthwise_kernel", (*kernel_size, channels, multiplier))
    return [kernel, *_bias(config, channels * multiplier)]


def depthwise_conv_output(config: Config, input_shapes: list) -> tuple:
    """(batch, *lengths, in_channels · depth_multiplier). Keras 2's `groups` key is ignored."""
    shape = single(input_shapes)
    rank = len(shape) - 2
    window = conv_window(config, rank, causal=rank == 1)
    channels = input_channels(config, shape) * int(config.get("depth_multiplier", 1))
    return _conv_shape(config, shape, window, channels)


# Keras 2 wrote `groups: 1` into DepthwiseConv2D configs (a Conv2D subclass there); Keras 3
# refuses the key.

for _rank in (1, 2):
    register(
        f"DepthwiseConv{_rank}D",
        family="convolution",
        summary=(
            "output = activation(depthwise_conv(inputs, depthwise_kernel) + bias): each input "
            "channel is convolved on its own with depth_multiplier kernels, giving "
            "in_channels · depth_multiplier output channels."
        ),
        weights=depthwise_conv_weights,
        traits=KERAS2_GROUPS,
    )(for_rank(_rank, depthwise_conv_output))


# SeparableConv1D, SeparableConv2D ----------------------------------------------------------


def separable_conv_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """depthwise_kernel kernel_size + (in_channels, depth_multiplier), pointwise_kernel
    (1,)·rank + (in_channels · depth_multiplier, filters), then bias (filters,) when use_bias."""
    shape = single(input_shapes)
    rank = len(shape) - 2
    channels = input_channels(config, shape)
    multiplier = int(config.get("depth_multiplier", 1))
    filters = int(config["filters"])
    kernel_size = _spatial_tuple(config["kernel_size"], rank)
    return [
        WeightSpec("depthwise_kernel", "depthwise_kernel", (*kernel_size, channels, multiplier)),
        WeightSpec(
            "pointwise_kernel", "pointwise_kernel", (*(1,) * rank, channels * multiplier, filters)
        ),
        *_bias(config, filters),
    ]


def separable_conv_output(config: Config, input_shapes: list) -> tuple:
    """(batch, *lengths, filters): the lengths of the depthwise step; the 1×1 keeps them."""
    shape = single(input_shapes)
    rank = len(shape) - 2
    window = conv_window(config, rank, causal=rank == 1)
    return _conv_shape(config, shape, window, int(config["filters"]))


for _rank in (1, 2):
    register(
        f"SeparableConv{_rank}D",
        family="convolution",
        summary=(
            "output = activation(conv(depthwise_conv(inputs, depthwise_kernel), "
            "pointwise_kernel) + bias): a per-channel convolution with depth_multiplier "
            "kernels, then a 1×1 convolution to `filters` channels."
        ),
        weights=separable_conv_weights,
        traits=KERAS2_SEPARABLE,
        aliases=(f"SeparableConvolution{_rank}D",),
    )(for_rank(_rank, separable_conv_output))
