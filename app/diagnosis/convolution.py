"""Mistakes made on convolutions and Flatten (variants of app.reference.convolution's and
app.reference.reshaping's forwards). Channels-last layers (Keras' default).

    conv-kernel-flipped        a true convolution: the kernel flipped along its spatial axes
                               (scipy.signal.convolve); Keras, like every deep-learning
                               framework, computes a cross-correlation
    conv-same-padding-start    "same" padding with the odd pixel at the start (a symmetric
                               split, as PyTorch pads), where TensorFlow puts it at the end
    flatten-channels-first     Flatten in channels-first order (PyTorch's N, C, H, W), where
                               Keras flattens (N, H, W, C) as it is
    conv-channels-order        channels-first data read as channels-last, or the converse:
                               an array reshaped where it needed a transpose, at the layer's
                               input (NCHW data fed as NHWC) or its output (read back in
                               the other order); the values are all there, in another place
"""

from __future__ import annotations

import numpy as np

from app.diagnosis.catalogue import Config, Forms, Weights, finite_forms, mistake
from app.reference import forwards
from app.reference.forwards import as_tuple, is_channels_first, single, weight
from app.reference.windows import pad_spatial, padding_amounts


def _rank(config: Config) -> int:
    kernel = config.get("kernel_size", 1)
    return len(kernel) if isinstance(kernel, list | tuple) else 1


def _class(config: Config) -> str:
    return f"Conv{_rank(config)}D"


@mistake(
    "conv-kernel-flipped",
    "Conv1D",
    "Conv2D",
    "Conv3D",
    title="Kernel flipped (a true convolution)",
    explain="Keras' convolution layers compute a cross-correlation: out[i] = Σ x[i + k] · "
    "kernel[k]. Yours flip the kernel first (a convolution in the signal-processing sense, "
    "as scipy.signal.convolve computes).",
    fix="scipy.signal.correlate(x, kernel)  # not scipy.signal.convolve; or kernel[::-1, ::-1]",
)
def kernel_flipped(config: Config, weights: Weights, inputs, theirs) -> Forms:
    kernel = weight(weights, "kernel")
    spatial = tuple(range(_rank(config)))
    if all(kernel.shape[a] == 1 for a in spatial):
        return {}
    flipped = {**weights, "kernel": np.flip(kernel, axis=spatial)}
    return finite_forms({"": forwards.run_layer(_class(config), config, flipped, inputs)})


@mistake(
    "conv-same-padding-start",
    "Conv1D",
    "Conv2D",
    "Conv3D",
    title='"same" padding with the extra pixel at the start',
    explain='With padding="same", TensorFlow (and so Keras) pads ⌊total / 2⌋ before and the '
    "rest after: an odd total puts the extra pixel at the end (right, bottom). Yours put it "
    "at the start, as a symmetric split (PyTorch's padding) does with a stride of 2.",
    fix="np.pad(x, [(total // 2, total - total // 2)])  # TF: the extra pixel at the end",
)
def same_padding_start(config: Config, weights: Weights, inputs, theirs) -> Forms:
    x = single(inputs)
    if str(config.get("padding", "valid")).lower() != "same" or is_channels_first(config):
        return {}
    rank = _rank(config)
    options = [
        as_tuple(config.get(key, default), rank)
        for key, default in (("kernel_size", 1), ("strides", 1), ("dilation_rate", 1))
    ]
    pads = padding_amounts(x.shape[1:-1], *options, "same")
    if all((before + after) % 2 == 0 for before, after in pads):
        return {}
    swapped = pad_spatial(x, [(after, before) for before, after in pads])
    valid = {**config, "padding": "valid"}
    return finite_forms({"": forwards.run_layer(_class(config), valid, weights, [swapped])})


@mistake(
    "flatten-channels-first",
    "Flatten",
    title="Flatten in channels-first order",
    explain="Keras flattens a channels-last tensor (N, H, W, C) as it is: the channels vary "
    "fastest. Yours flatten it as (N, C, H, W), PyTorch's order, so the Dense layer after it "
    "reads its weights against the wrong features.",
    fix="x.reshape(len(x), -1)  # (N, H, W, C) as is; not x.transpose(0, 3, 1, 2).reshape(...)",
)
def flatten_channels_first(config: Config, weights: Weights, inputs, theirs) -> Forms:
    x = single(inputs)
    if x.ndim < 3 or x.shape[-1] == 1 or config.get("data_format") == "channels_first":
        return {}
    moved = np.moveaxis(x, -1, 1)
    return {"": moved.reshape(len(x), -1)}


@mistake(
    "conv-channels-order",
    "Conv1D",
    "Conv2D",
    "Conv3D",
    title="Channels-first data read as channels-last (or back)",
    explain="This layer is channels_last: its input and output are (N, H, W, C). An array "
    "in channels-first order (N, C, H, W), PyTorch's, must be transposed to it; yours was "
    "reshaped instead (x.reshape(n, h, w, c) keeps the channels-first order of the values "
    "in memory), on the way in or on the way back out.",
    fix="x = x_nchw.transpose(0, 2, 3, 1)  # NCHW → NHWC; not x_nchw.reshape(n, h, w, c)",
)
def channels_order(config: Config, weights: Weights, inputs, theirs) -> Forms:
    x = single(inputs)
    if is_channels_first(config) or not _reorders(x):
        return {}
    name = _class(config)
    forms = {
        "channels-first input read as channels-last": forwards.run_layer(
            name, config, weights, [reshaped_to_channels_last(x)]
        ),
        "channels-last input read as channels-first": forwards.run_layer(
            name, config, weights, [reshaped_to_channels_first(x)]
        ),
    }
    y = forwards.run_layer(name, config, weights, [x])
    if _reorders(y):
        forms["channels-first output read as channels-last"] = reshaped_to_channels_last(y)
        forms["channels-last output read as channels-first"] = reshaped_to_channels_first(y)
    return finite_forms(forms)


def _reorders(x: np.ndarray) -> bool:
    """Whether reading x in the other order moves anything (not with one channel or one
    position)."""
    return x.shape[-1] != 1 and int(np.prod(x.shape[1:-1])) != 1


def reshaped_to_channels_last(x: np.ndarray) -> np.ndarray:
    """x's values in channels-first order (N, C, *S), reshaped (not transposed) to x's
    channels-last shape: data a channels-first program holds, read as channels-last."""
    return np.moveaxis(x, -1, 1).reshape(x.shape)


def reshaped_to_channels_first(x: np.ndarray) -> np.ndarray:
    """The converse, in channels-last terms: x's values read as (N, C, *S) by a reshape,
    as a channels-first program reads a channels-last array."""
    return np.moveaxis(x.reshape(x.shape[0], x.shape[-1], *x.shape[1:-1]), 1, -1)
