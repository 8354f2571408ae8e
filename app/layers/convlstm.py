"""ConvLSTM1D/2D/3D: an LSTM whose kernel and recurrent_kernel are convolutions.

Shapes as the recurrent layers' (`recurrent.py`), with per-step images: x (N, T, *S, C)
((N, T, C, *S) with channels_first); every state is an image of `filters` channels.
"""

from __future__ import annotations

from app.graph import ShapeTree
from app.layers.recurrent import LSTM_TRAITS, nest, recurrent_output, sequences
from app.layers.registry import (
    Config,
    WeightSpec,
    normalize_tuple,
    register,
    register_structure,
)

# The cell Keras 3 builds inside every ConvLSTM layer (not exported in keras.layers; never
# written in a config): allowed where Keras built it.
register_structure("ConvLSTMCell", module="keras.src.layers.rnn.conv_lstm")

FAMILY = "recurrent"  # as Keras groups them (keras.src.layers.rnn)


def _conv_length(length, kernel: int, stride: int, padding: str, dilation: int):
    if length is None:
        return None
    if padding == "valid":
        return (length - dilation * (kernel - 1) - 1) // stride + 1
    return (length - 1) // stride + 1


def _conv_lstm_geometry(config: Config, rank: int, input_shapes: list):
    """(sequences shape, per-step spatial dims, input channels, kernel_size, channels_first)."""
    shape = sequences(input_shapes)
    first = config.get("data_format") == "channels_first"
    step = shape[2:]
    spatial, channels = (step[1:], step[0]) if first else (step[:-1], step[-1])
    return shape, spatial, channels, normalize_tuple(config["kernel_size"], rank), first


def _conv_lstm_weights(rank: int):
    def weights(config: Config, input_shapes: list) -> list[WeightSpec]:
        _, _, channels, kernel, _ = _conv_lstm_geometry(config, rank, input_shapes)
        filters = int(config["filters"])
        specs = [
            WeightSpec("kernel", "kernel", (*kernel, int(channels), 4 * filters)),
            WeightSpec("recurrent_kernel", "recurrent_kernel", (*kernel, filters, 4 * filters)),
        ]
        if config.get("use_bias", True):
            specs.append(WeightSpec("bias", "bias", (4 * filters,)))
        return nest(specs, "conv_lstm_cell", "cell")

    weights.__doc__ = (
        "kernel (*kernel_size, channels, 4·filters), recurrent_kernel "
        "(*kernel_size, filters, 4·filters), bias (4·filters,), owned by `cell`."
    )
    return weights


def _conv_lstm_output(rank: int):
    def output(config: Config, input_shapes: list) -> ShapeTree:
        shape, spatial, _, kernel, first = _conv_lstm_geometry(config, rank, input_shapes)
        strides = normalize_tuple(config.get("strides", 1), rank)
        dilation = normalize_tuple(config.get("dilation_rate", 1), rank)
        padding = str(config.get("padding", "valid")).lower()
        out = tuple(
            _conv_length(n, k, s, padding, d)
            for n, k, s, d in zip(spatial, kernel, strides, dilation, strict=True)
        )
        filters = int(config["filters"])
        feature = (filters, *out) if first else (*out, filters)
        return recurrent_output(config, shape, feature, [feature, feature])

    return output


for _rank in (1, 2, 3):
    register(
        f"ConvLSTM{_rank}D",
        family=FAMILY,
        summary=(
            "An LSTM whose kernel and recurrent_kernel are convolutions: "
            "[i, f, c̃, o] = conv(x_t, kernel) + conv(h_{t−1}, recurrent_kernel) + bias."
        ),
        weights=_conv_lstm_weights(_rank),
        traits=LSTM_TRAITS,
    )(_conv_lstm_output(_rank))
