"""Costs of the convolutions (plain, transposed, depthwise, separable) and ConvLSTM.

Every convolution counts, per output element, the products its window sums: kernel volume ×
the input channels one filter sees (in_channels / groups). A transposed convolution scatters
each input element into kernel volume × filters outputs. Shapes are batch 1 with
`data_format`'s channel axis.
"""

from __future__ import annotations

from app.costs.rules import Cost, activation_term, bias_term, cost, dims, size


def _channels(config, shape) -> int:
    return shape[1] if config.get("data_format") == "channels_first" else shape[-1]


def _spatial(config, shape) -> tuple[int, ...]:
    return shape[2:] if config.get("data_format") == "channels_first" else shape[1:-1]


def _kernel(config, rank: int) -> tuple[int, ...]:
    k = config["kernel_size"]
    return (k,) * rank if isinstance(k, int) else tuple(k) * (rank if len(k) == 1 else 1)


def _outputs_text(config, shape) -> str:
    return f"{dims(_spatial(config, shape))} × {_channels(config, shape)} outputs"


def _finish(config, macs: int, text: str, out) -> Cost:
    elements = size(out)
    return Cost(macs, text, bias_term(config, elements) + activation_term(config, elements))


@cost("Conv1D", "Conv2D", "Conv3D")
def conv(config, inputs, outputs) -> Cost:
    """outputs × (kernel volume × in_channels / groups)."""
    out = outputs[0]
    kernel = _kernel(config, len(out) - 2)
    seen = _channels(config, inputs[0]) // int(config.get("groups", 1) or 1)
    per_output = size(kernel) * seen
    text = f"{_outputs_text(config, out)} × ({dims((*kernel, seen))})"
    return _finish(config, size(out) * per_output, text, out)


@cost("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
def conv_transpose(config, inputs, outputs) -> Cost:
    """inputs × (kernel volume × filters): each input element meets every kernel entry."""
    x, out = inputs[0], outputs[0]
    kernel = _kernel(config, len(out) - 2)
    filters = _channels(config, out)
    text = f"{_outputs_text(config, x).replace('outputs', 'inputs')} × ({dims((*kernel, filters))})"
    return _finish(config, size(x) * size(kernel) * filters, text, out)


@cost("DepthwiseConv1D", "DepthwiseConv2D")
def depthwise(config, inputs, outputs) -> Cost:
    """outputs × kernel volume: each output channel sees one input channel."""
    out = outputs[0]
    kernel = _kernel(config, len(out) - 2)
    text = f"{_outputs_text(config, out)} × ({dims(kernel)})"
    return _finish(config, size(out) * size(kernel), text, out)


@cost("SeparableConv1D", "SeparableConv2D")
def separable(config, inputs, outputs) -> Cost:
    """The depthwise step (its outputs × kernel volume), then the 1×1 pointwise step
    (outputs × in_channels · depth_multiplier)."""
    out = outputs[0]
    spatial = _spatial(config, out)
    kernel = _kernel(config, len(out) - 2)
    middle = _channels(config, inputs[0]) * int(config.get("depth_multiplier", 1))
    depthwise_macs = size(spatial) * middle * size(kernel)
    pointwise_macs = size(out) * middle
    text = (
        f"{dims(spatial)} × {middle} depthwise outputs × ({dims(kernel)}) + "
        f"{_outputs_text(config, out)} × {middle}"
    )
    return _finish(config, depthwise_macs + pointwise_macs, text, out)


@cost("ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")
def conv_lstm(config, inputs, outputs) -> Cost:
    """Per step: 4 gates' convolutions of the input (kernel volume × in_channels) and of the
    state (kernel volume × filters, same padding) at every output position; × steps."""
    x = inputs[0]
    steps, frame = x[1], (1, *x[2:])
    out = outputs[0]
    state = out if len(out) == len(frame) else (1, *out[2:])
    filters = _channels(config, state)
    spatial = _spatial(config, state)
    kernel = _kernel(config, len(state) - 2)
    per_position = 4 * filters * size(kernel) * (_channels(config, frame) + filters)
    text = (
        f"{dims(spatial)} positions × 4 × {filters} gates × "
        f"({dims(kernel)} × ({_channels(config, frame)} + {filters}))"
    )
    units = size(spatial) * filters
    other = (
        (4 * units, "bias adds") if config.get("use_bias", True) else (0, ""),
        (4 * units, "gate activations"),
        (5 * units, "state updates"),
    )
    step = Cost(size(spatial) * per_position, text, tuple(t for t in other if t[0]))
    return step.times(steps, "steps")
