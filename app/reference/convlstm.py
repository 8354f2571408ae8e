"""ConvLSTM1D/2D/3D: an LSTM whose input and recurrent transformations are convolutions.

Inputs are sequences of images, `(N, T, *S, C)` (channels_last) or `(N, T, C, *S)`
(channels_first), optionally followed by the initial states `h₀, c₀` (`(N, *O, filters)`
in the layer's data format); without them the states start at zero. The input convolution
of every step is one GEMM over all `N·T` images (`convolution.im2col_conv`); the recurrence
is a loop over the T steps only.

Weights (the cell's, role or registry name): kernel (*K, C, 4F), recurrent_kernel
(*K, F, 4F), bias (4F,); the 4F axis holds the gates in Keras' order i, f, c, o.

Not covered, and said so (UnsupportedModel) rather than computed otherwise: masks (Keras
keeps the previous output and states at masked steps). Not covered either: training-mode
dropout/recurrent_dropout (random in Keras; the reference computes the inference result),
and `stateful` carry-over between calls (each call starts from h₀, c₀).
"""

from __future__ import annotations

import numpy as np

from app.errors import UnsupportedModel
from app.reference.activations import apply_activation
from app.reference.convolution import im2col_conv
from app.reference.forwards import (
    Config,
    Weights,
    as_tuple,
    forward,
    from_channels_last,
    is_channels_first,
    optional_weight,
    to_channels_last,
    weight,
)
from app.reference.windows import pad_spatial, padding_amounts

CELL = "conv_lstm_cell"


def cell_weights(weights: Weights) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """kernel, recurrent_kernel and bias (None without use_bias), by role or registry name."""
    return (
        weight(weights, "kernel", f"{CELL}/kernel"),
        weight(weights, "recurrent_kernel", f"{CELL}/recurrent_kernel"),
        optional_weight(weights, "bias", f"{CELL}/bias"),
    )


def conv_same(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Stride-1 `same` convolution of (N, *S, C) with (*K, C, F) → (N, *S, F): the recurrent
    transformation of the hidden state."""
    rank = kernel.ndim - 2
    ones = (1,) * rank
    pads = padding_amounts(x.shape[1:-1], kernel.shape[:rank], ones, ones, "same")
    return im2col_conv(pad_spatial(x, pads), kernel, ones, ones)


def input_transform(config: Config, x: np.ndarray, kernel: np.ndarray, bias) -> np.ndarray:
    """conv(x_t, kernel) + bias for every step at once: (N, T, *S, C) → (N, T, *O, 4F).

    Padding `valid` or `same`, with the layer's strides and dilation_rate.
    """
    rank = kernel.ndim - 2
    strides = as_tuple(config.get("strides", 1), rank)
    dilation = as_tuple(config.get("dilation_rate", 1), rank)
    padding = str(config.get("padding", "valid")).lower()
    frames = x.reshape(-1, *x.shape[2:])
    pads = padding_amounts(frames.shape[1:-1], kernel.shape[:rank], strides, dilation, padding)
    out = im2col_conv(pad_spatial(frames, pads), kernel, strides, dilation)
    if bias is not None:
        out += bias
    return out.reshape(*x.shape[:2], *out.shape[1:])


def lstm_step(config: Config, z: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One LSTM update from the pre-activations z = [z_i, z_f, z_c, z_o] (…, 4F):

    i = σ(z_i), f = σ(z_f), o = σ(z_o) with σ the recurrent_activation (default sigmoid);
    c' = f·c + i·act(z_c), h' = o·act(c') with act the activation (default tanh).
    """
    z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)
    gate = config.get("recurrent_activation", "sigmoid")
    act = config.get("activation", "tanh")
    i = apply_activation(gate, z_i)
    f = apply_activation(gate, z_f)
    c = f * c + i * apply_activation(act, z_c)
    h = apply_activation(gate, z_o) * apply_activation(act, c)
    return h, c


def initial_states(inputs: list[np.ndarray], shape: tuple, dtype, channels_first: bool):
    """h₀, c₀ (channels-last) from inputs[1:3], or zeros of `shape` (N, *O, F)."""
    if len(inputs) >= 3:
        return (to_channels_last(s, channels_first).astype(dtype) for s in inputs[1:3])
    return np.zeros(shape, dtype), np.zeros(shape, dtype)


def conv_lstm(config: Config, weights: Weights, inputs: list[np.ndarray]):
    """ConvLSTMND: for t = 1 … T (reversed with go_backwards),

    z_t = conv(x_t, kernel) + bias + conv_same(h_{t−1}, recurrent_kernel),
    (h_t, c_t) = lstm_step(z_t, c_{t−1}).

    Returns h_T (N, *O, F), or every h_t (N, T, *O, F) in processing order with
    return_sequences; with return_state, [output, h_T, c_T]. Data format as configured.
    """
    channels_first = is_channels_first(config)
    x = inputs[0]
    if channels_first:
        x = np.moveaxis(x, 2, -1)
    kernel, recurrent_kernel, bias = cell_weights(weights)
    steps_in = input_transform(config, x, kernel, bias)
    if config.get("go_backwards", False):
        steps_in = steps_in[:, ::-1]
    shape = (steps_in.shape[0], *steps_in.shape[2:-1], recurrent_kernel.shape[-2])
    h, c = initial_states(inputs, shape, x.dtype, channels_first)
    outputs = []
    for t in range(steps_in.shape[1]):
        h, c = lstm_step(config, steps_in[:, t] + conv_same(h, recurrent_kernel), c)
        outputs.append(h)
    return finish(config, outputs, h, c, channels_first)


def finish(config: Config, outputs: list, h: np.ndarray, c: np.ndarray, channels_first: bool):
    """The layer's output(s) from the per-step outputs and final states, in its data format."""
    if config.get("return_sequences", False):
        out = np.stack(outputs, axis=1)
        out = np.moveaxis(out, -1, 2) if channels_first else out
    else:
        out = from_channels_last(h, channels_first)
    if config.get("return_state", False):
        return [out, from_channels_last(h, channels_first), from_channels_last(c, channels_first)]
    return out


@forward("ConvLSTM1D")
def conv_lstm1d(config: Config, weights: Weights, inputs: list[np.ndarray], training, masks=None):
    """ConvLSTM1D: sequences (N, T, L, C); see `conv_lstm`."""
    refuse_masks("ConvLSTM1D", masks)
    return conv_lstm(config, weights, inputs)


@forward("ConvLSTM2D")
def conv_lstm2d(config: Config, weights: Weights, inputs: list[np.ndarray], training, masks=None):
    """ConvLSTM2D: sequences (N, T, H, W, C); see `conv_lstm`."""
    refuse_masks("ConvLSTM2D", masks)
    return conv_lstm(config, weights, inputs)


@forward("ConvLSTM3D")
def conv_lstm3d(config: Config, weights: Weights, inputs: list[np.ndarray], training, masks=None):
    """ConvLSTM3D: sequences (N, T, D, H, W, C); see `conv_lstm`."""
    refuse_masks("ConvLSTM3D", masks)
    return conv_lstm(config, weights, inputs)


def refuse_masks(class_name: str, masks) -> None:
    """Masked steps are not reproduced here: say so rather than compute something else."""
    if masks and any(m is not None for m in masks):
        raise UnsupportedModel(
            f"Our reference does not reproduce masked steps in {class_name}: Keras keeps the "
            "previous output and states there.",
            {"class_name": class_name},
        )
