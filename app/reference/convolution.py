"""Convolutions as GEMM: Conv1D/2D/3D, Conv*Transpose, DepthwiseConv1D/2D, SeparableConv1D/2D.

Everything is computed channels-last; `channels_first` inputs are moved there and back.
A convolution pads the input, takes the window view `(N, *O, *K, C)` (no copy; see
`windows.py`), and multiplies it, as an im2col matrix `(N·ΠO, ΠK·C)`, by the kernel reshaped
to `(ΠK·C, filters)`: one BLAS call in the input's dtype. 1×1 kernels skip the window view
and are a plain matmul over the (strided) input.
"""

from __future__ import annotations

import math

import numpy as np

from app.reference.activations import apply_activation
from app.reference.forwards import (
    Config,
    Weights,
    as_tuple,
    forward,
    from_channels_last,
    is_channels_first,
    optional_weight,
    single,
    to_channels_last,
    weight,
)
from app.reference.windows import effective_size, pad_spatial, padding_amounts, taps, windows


def im2col(
    x: np.ndarray, kernel_size: tuple[int, ...], strides: tuple[int, ...], dilation: tuple[int, ...]
) -> np.ndarray:
    """The im2col rows of an already padded input: (N, *O, ΠK, C).

    rows[n, o…, k, c] = x[n, o·stride + k·dilation, c] (k in row-major tap order). A view
    where possible; 1×1 kernels take the strided input itself, a single tap.
    """
    rank = len(kernel_size)
    if all(k == 1 for k in kernel_size):
        picked = x[(slice(None), *(slice(None, None, s) for s in strides), slice(None))]
        return picked[..., None, :]
    view = windows(x, kernel_size, strides, dilation)
    return view.reshape(*view.shape[: 1 + rank], -1, x.shape[-1])


def grouped_matmul(rows: np.ndarray, kernel: np.ndarray, groups: int) -> np.ndarray:
    """(M, ΠK, C) rows times the (ΠK, C/groups, F) kernel, one GEMM per group.

    out[m, f] = Σ_{k, c} rows[m, k, g·C/groups + c] · kernel[k, c, f], g = f // (F/groups).
    """
    cin_g, filters = kernel.shape[-2:]
    f_g = filters // groups
    parts = [
        rows[:, :, g * cin_g : (g + 1) * cin_g].reshape(rows.shape[0], -1)
        @ kernel[:, :, g * f_g : (g + 1) * f_g].reshape(-1, f_g)
        for g in range(groups)
    ]
    return parts[0] if groups == 1 else np.concatenate(parts, axis=-1)


def im2col_conv(
    x: np.ndarray,
    kernel: np.ndarray,
    strides: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int = 1,
) -> np.ndarray:
    """Valid convolution (cross-correlation) of an already padded input, as a GEMM.

    out[n, o…, f] = Σ_{k…, c} x[n, o·stride + k·dilation, g(f)·C/groups + c] · kernel[k…, c, f]

    Args:
        x: (N, *S, C), channels-last, padded.
        kernel: (*K, C/groups, F), Keras' layout.
        strides, dilation: one int per spatial axis.
        groups: filter f sees only the input channels of its group g(f) = f // (F/groups).

    Returns:
        (N, *O, F) in `x`'s dtype.
    """
    rank = kernel.ndim - 2
    rows = im2col(x, kernel.shape[:rank], strides, dilation)
    flat_kernel = kernel.reshape(math.prod(kernel.shape[:rank]), *kernel.shape[-2:])
    out = grouped_matmul(rows.reshape(-1, *rows.shape[-2:]), flat_kernel, groups)
    return out.reshape(*rows.shape[: 1 + rank], kernel.shape[-1])


def depthwise(
    x: np.ndarray, kernel: np.ndarray, strides: tuple[int, ...], dilation: tuple[int, ...]
) -> np.ndarray:
    """Depthwise convolution of an already padded input, summed tap by tap.

    out[n, o…, c·M + m] = Σ_k x[n, o·stride + k·dilation, c] · kernel[k…, c, m]

    Args:
        x: (N, *S, C), channels-last, padded.
        kernel: (*K, C, M), M = depth_multiplier.

    Returns:
        (N, *O, C·M).
    """
    rank = kernel.ndim - 2
    view = windows(x, kernel.shape[:rank], strides, dilation)
    flat_kernel = kernel.reshape(-1, *kernel.shape[-2:])  # (ΠK, C, M)
    out = None
    for tap, k in zip(taps(view, rank), flat_kernel, strict=True):
        term = tap[..., None] * k
        out = term if out is None else out + term
    return out.reshape(*out.shape[:-2], -1)


def _conv_options(config: Config, rank: int) -> tuple[tuple, tuple, tuple, str]:
    """kernel_size, strides, dilation_rate (as tuples) and padding from a conv config."""
    return (
        as_tuple(config["kernel_size"], rank),
        as_tuple(config.get("strides", 1), rank),
        as_tuple(config.get("dilation_rate", 1), rank),
        str(config.get("padding", "valid")).lower(),
    )


def _finish(config: Config, weights: Weights, out: np.ndarray, channels_first: bool) -> np.ndarray:
    """Add the bias over the channel axis, apply the activation, restore the data format."""
    bias = optional_weight(weights, "bias")
    if bias is not None and config.get("use_bias", True):
        out += bias  # in place: `out` is a fresh result, and one large allocation fewer
    return from_channels_last(apply_activation(config.get("activation"), out), channels_first)


def _padded(x: np.ndarray, kernel, strides, dilation, padding: str) -> np.ndarray:
    return pad_spatial(x, padding_amounts(x.shape[1:-1], kernel, strides, dilation, padding))


def conv(config: Config, weights: Weights, inputs: list[np.ndarray], rank: int) -> np.ndarray:
    """ConvND: activation(conv(pad(x), kernel) + bias).

    Shapes (channels_last): x (N, *S, C), kernel (*K, C/groups, filters), bias (filters,),
    output (N, *O, filters) with O = ⌈S/stride⌉ for same, ⌊(S − k_eff)/stride⌋ + 1 for valid.
    """
    channels_first = is_channels_first(config)
    x = to_channels_last(single(inputs), channels_first)
    kernel_size, strides, dilation, padding = _conv_options(config, rank)
    x = _padded(x, kernel_size, strides, dilation, padding)
    kernel = weight(weights, "kernel")
    out = im2col_conv(x, kernel, strides, dilation, int(config.get("groups", 1) or 1))
    return _finish(config, weights, out, channels_first)


@forward("Conv1D", "Convolution1D")
def conv1d(config: Config, weights: Weights, inputs: list[np.ndarray], training: bool):
    """Conv1D (valid, same or causal padding): see `conv`."""
    return conv(config, weights, inputs, 1)


@forward("Conv2D", "Convolution2D")
def conv2d(config: Config, weights: Weights, inputs: list[np.ndarray], training: bool):
    """Conv2D: see `conv`."""
    return conv(config, weights, inputs, 2)


@forward("Conv3D", "Convolution3D")
def conv3d(config: Config, weights: Weights, inputs: list[np.ndarray], training: bool):
    """Conv3D: see `conv`."""
    return conv(config, weights, inputs, 3)


def transpose_pads(
    kernel_size, strides, dilation, padding: str, output_padding
) -> list[tuple[int, int]]:
    """Padding of the stride-dilated input that makes a transposed conv a valid conv.

    As Keras computes it for JAX (`_convert_conv_transpose_padding_args_from_keras_to_jax`),
    with k_eff = (k − 1)·d + 1:
    valid: before = k_eff − 1, after = k_eff − 1 + output_padding
           (output_padding defaults to max(k_eff, s) − k_eff);
    same: total = s + k_eff − 2 (or k_eff + k_eff mod 2 − 2 + output_padding when given),
          before = min(⌈total/2⌉, k_eff − 1), after = total − before.
    """
    rank = len(kernel_size)
    extra = [None] * rank if output_padding is None else as_tuple(output_padding, rank)
    pads = []
    for k, s, d, op in zip(kernel_size, strides, dilation, extra, strict=True):
        k_eff = effective_size(k, d)
        if padding == "valid":
            op = max(k_eff, s) - k_eff if op is None else op
            pads.append((k_eff - 1, k_eff - 1 + op))
        else:
            total = s + k_eff - 2 if op is None else k_eff + k_eff % 2 - 2 + op
            before = min(total // 2 + total % 2, k_eff - 1)
            pads.append((before, total - before))
    return pads


def dilate(x: np.ndarray, strides: tuple[int, ...]) -> np.ndarray:
    """Insert stride − 1 zeros between neighbours on each spatial axis of (N, *S, C)."""
    if all(s == 1 for s in strides):
        return x
    spatial = ((n - 1) * s + 1 for n, s in zip(x.shape[1:-1], strides, strict=True))
    shape = (x.shape[0], *spatial, x.shape[-1])
    out = np.zeros(shape, dtype=x.dtype)
    out[(slice(None), *(slice(None, None, s) for s in strides), slice(None))] = x
    return out


def conv_transpose(config: Config, weights: Weights, inputs: list[np.ndarray], rank: int):
    """ConvNDTranspose: a valid conv of the stride-dilated, padded input with the flipped kernel.

    out = conv(pad(dilate(x, strides), transpose_pads), flip_K(kernel)ᵀ, dilation) + bias.
    Shapes (channels_last): x (N, *S, C), kernel (*K, filters, C), output (N, *O, filters)
    with O = S·stride for same (no output_padding), (S − 1)·stride + max(k_eff, stride) for valid.
    """
    channels_first = is_channels_first(config)
    x = to_channels_last(single(inputs), channels_first)
    kernel_size, strides, dilation, padding = _conv_options(config, rank)
    pads = transpose_pads(kernel_size, strides, dilation, padding, config.get("output_padding"))
    x = pad_spatial(dilate(x, strides), pads)
    kernel = weight(weights, "kernel")
    flipped = np.swapaxes(np.flip(kernel, axis=tuple(range(rank))), -1, -2)
    out = im2col_conv(x, np.ascontiguousarray(flipped), (1,) * rank, dilation)
    return _finish(config, weights, out, channels_first)


@forward("Conv1DTranspose", "Convolution1DTranspose")
def conv1d_transpose(config: Config, weights: Weights, inputs: list[np.ndarray], training: bool):
    """Conv1DTranspose: see `conv_transpose`."""
    return conv_transpose(config, weights, inputs, 1)


@forward("Conv2DTranspose", "Convolution2DTranspose")
def conv2d_transpose(config: Config, weights: Weights, inputs: list[np.ndarray], training: bool):
    """Conv2DTranspose: see `conv_transpose`."""
    return conv_transpose(config, weights, inputs, 2)


@forward("Conv3DTranspose", "Convolution3DTranspose")
def conv3d_transpose(config: Config, weights: Weights, inputs: list[np.ndarray], training: bool):
    """Conv3DTranspose: see `conv_transpose`."""
    return conv_transpose(config, weights, inputs, 3)


def depthwise_conv(config: Config, weights: Weights, inputs: list[np.ndarray], rank: int):
    """DepthwiseConvND: activation(depthwise(pad(x), depthwise_kernel) + bias).

    Shapes (channels_last): x (N, *S, C), depthwise_kernel (*K, C, depth_multiplier),
    bias (C·depth_multiplier,), output (N, *O, C·depth_multiplier).
    """
    channels_first = is_channels_first(config)
    x = to_channels_last(single(inputs), channels_first)
    kernel_size, strides, dilation, padding = _conv_options(config, rank)
    x = _padded(x, kernel_size, strides, dilation, padding)
    out = depthwise(x, weight(weights, "depthwise_kernel", "kernel"), strides, dilation)
    return _finish(config, weights, out, channels_first)


@forward("DepthwiseConv1D")
def depthwise_conv1d(config: Config, weights: Weights, inputs: list[np.ndarray], training: bool):
    """DepthwiseConv1D: see `depthwise_conv`."""
    return depthwise_conv(config, weights, inputs, 1)


@forward("DepthwiseConv2D")
def depthwise_conv2d(config: Config, weights: Weights, inputs: list[np.ndarray], training: bool):
    """DepthwiseConv2D: see `depthwise_conv`."""
    return depthwise_conv(config, weights, inputs, 2)


def separable_conv(config: Config, weights: Weights, inputs: list[np.ndarray], rank: int):
    """SeparableConvND: a depthwise conv, then a 1×1 conv with pointwise_kernel, bias, activation.

    Shapes (channels_last): x (N, *S, C), depthwise_kernel (*K, C, M),
    pointwise_kernel (1…, C·M, filters), bias (filters,), output (N, *O, filters).
    """
    channels_first = is_channels_first(config)
    x = to_channels_last(single(inputs), channels_first)
    kernel_size, strides, dilation, padding = _conv_options(config, rank)
    x = _padded(x, kernel_size, strides, dilation, padding)
    mid = depthwise(x, weight(weights, "depthwise_kernel"), strides, dilation)
    out = im2col_conv(mid, weight(weights, "pointwise_kernel"), (1,) * rank, (1,) * rank)
    return _finish(config, weights, out, channels_first)


@forward("SeparableConv1D", "SeparableConvolution1D")
def separable_conv1d(config: Config, weights: Weights, inputs: list[np.ndarray], training: bool):
    """SeparableConv1D: see `separable_conv`."""
    return separable_conv(config, weights, inputs, 1)


@forward("SeparableConv2D", "SeparableConvolution2D")
def separable_conv2d(config: Config, weights: Weights, inputs: list[np.ndarray], training: bool):
    """SeparableConv2D: see `separable_conv`."""
    return separable_conv(config, weights, inputs, 2)
