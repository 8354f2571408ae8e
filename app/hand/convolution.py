"""Convolution layers by hand: Conv1D/2D/3D, their Transpose, DepthwiseConv, SeparableConv."""

from __future__ import annotations

from app.hand.rules import (
    Facts,
    Hand,
    activation_name,
    applied,
    bias_setting,
    channels_first,
    compact,
    data_format,
    hand,
    ints,
)
from app.hand.rules import settings as line
from app.reference.windows import padding_amounts

SPATIAL = ("i", "j", "k")
CROSS_CORRELATION = (
    "Keras convolution is cross-correlation: the kernel is not flipped "
    "(scipy.signal.convolve and the textbook convolution flip it)."
)
CHANNELS_FIRST = "data_format channels_first: x and y are (N, C, *spatial); the kernel is not."
AXIS_NAMES = ("rows", "columns", "depth")
SEPARABLE = "pointwise(depthwise(x, depthwise_kernel), pointwise_kernel)"


def rank_of(facts: Facts) -> int:
    size = facts.get("kernel_size", 1)
    return 1 if isinstance(size, int) else len(size)


def window_settings(facts: Facts, rank: int) -> list[str | None]:
    """strides, padding and (when not 1) dilation_rate, as the settings line shows them."""
    dilation = facts.get("dilation_rate", 1)
    return [
        f"kernel_size {compact(facts.get('kernel_size', 1), rank)}",
        f"strides {compact(facts.get('strides', 1), rank)}",
        f"padding {facts.get('padding', 'valid')}",
        f"dilation_rate {compact(dilation, rank)}" if set(ints(dilation, rank)) != {1} else None,
        data_format(facts),
    ]


def padded(facts: Facts) -> str:
    """`x_pad` where the padding adds zeros (then named in the conventions), else `x`."""
    return "x" if str(facts.get("padding", "valid")).lower() == "valid" else "x_pad"


def tap(facts: Facts, rank: int) -> str:
    """`2·i + di, 2·j + dj`: the input position a kernel tap reads for output position i, j."""
    strides = ints(facts.get("strides", 1), rank)
    dilation = ints(facts.get("dilation_rate", 1), rank)
    parts = []
    for axis, s, d in zip(SPATIAL[:rank], strides, dilation, strict=True):
        start = axis if s == 1 else f"{s}·{axis}"
        offset = f"d{axis}" if d == 1 else f"{d}·d{axis}"
        parts.append(f"{start} + {offset}")
    return ", ".join(parts)


def padding_convention(facts: Facts, rank: int, padded_with: str = "zeros") -> tuple[str, ...]:
    """TensorFlow's `same` padding, with this layer's amounts when its input size is known
    (`padded_with`: what x_pad adds, for a convolution zeros)."""
    padding = str(facts.get("padding", "valid")).lower()
    if padding == "causal":
        return (
            "padding causal: x_pad is x with (kernel_size − 1)·dilation_rate zeros before the "
            "sequence, none after.",
        )
    if padding != "same":
        return ()
    kernel = ints(facts.get("kernel_size", 1), rank)
    strides = ints(facts.get("strides", 1), rank)
    dilation = ints(facts.get("dilation_rate", 1), rank)
    rule = (
        f"padding same (TensorFlow's rule): x_pad is x with {padded_with} around it; the "
        "output has ⌈size / strides⌉ positions, and when the padding needed is odd (an even "
        "kernel, or strides > 1) the extra one goes at the end (bottom/right), where PyTorch's "
        "symmetric padding cannot put it"
    )
    spatial = spatial_sizes(facts, rank)
    if spatial is None:
        return (rule + ".",)
    pads = padding_amounts(spatial, kernel, strides, dilation, "same")
    amounts = ", ".join(
        f"{name} {before} before and {after} after"
        for name, (before, after) in zip(AXIS_NAMES, pads, strict=False)
    )
    return (f"{rule}; here: {amounts}.",)


def spatial_sizes(facts: Facts, rank: int) -> list[int] | None:
    shape = facts.input_shape
    if len(shape) != rank + 2:
        return None
    sizes = shape[2:] if channels_first(facts) else shape[1:-1]
    return None if any(s is None for s in sizes) else [int(s) for s in sizes]


def conventions(facts: Facts, rank: int, layout: str) -> tuple[str, ...]:
    extra = (CHANNELS_FIRST,) if channels_first(facts) else ()
    return (layout, CROSS_CORRELATION, *padding_convention(facts, rank), *extra)


def kernel_dims(rank: int) -> str:
    return ", ".join(f"d{axis}" for axis in SPATIAL[:rank])


def out_index(rank: int) -> str:
    return ", ".join(SPATIAL[:rank])


def layout_text(rank: int, last: str) -> str:
    spatial = ", ".join(("kh", "kw", "kd")[:rank]) if rank > 1 else "k"
    return f"({spatial}, {last})"


@hand("Conv1D", "Conv2D", "Conv3D")
def conv(facts: Facts) -> Hand:
    rank = rank_of(facts)
    activation = activation_name(facts.get("activation"))
    groups = int(facts.get("groups", 1))
    bias = " + bias[o]" if facts.has("bias") else ""
    taps = kernel_dims(rank)
    total = f"Σ_{{{taps}, c}} {padded(facts)}[n, {tap(facts, rank)}, c] · kernel[{taps}, c, o]"
    layout = f"kernel is {layout_text(rank, 'in, filters')}" + (
        f"; with groups {groups} each group of filters reads its own in/{groups} channels"
        if groups > 1
        else ""
    )
    return Hand(
        settings=line(
            activation,
            *window_settings(facts, rank),
            f"groups {groups}" if groups > 1 else None,
            bias_setting(facts),
        ),
        formula=f"y[n, {out_index(rank)}, o] = {applied(activation, total + bias)}",
        conventions=conventions(facts, rank, layout + "."),
    )


@hand("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
def conv_transpose(facts: Facts) -> Hand:
    rank = rank_of(facts)
    activation = activation_name(facts.get("activation"))
    bias = " + bias" if facts.has("bias") else ""
    strides = compact(facts.get("strides", 1), rank)
    layout = (
        f"kernel is {layout_text(rank, 'filters, in')}: output channels before input channels, "
        "the reverse of Conv's."
    )
    return Hand(
        settings=line(
            activation,
            *window_settings(facts, rank),
            f"output_padding {facts.get('output_padding')}"
            if facts.get("output_padding")
            else None,
            bias_setting(facts),
        ),
        formula=(
            f"y = {applied(activation, f'conv_transpose(x, kernel, strides {strides})' + bias)}: "
            "each input position adds x · kernel into the output window that starts at "
            f"strides × its position"
        ),
        conventions=conventions(facts, rank, layout),
    )


@hand("DepthwiseConv1D", "DepthwiseConv2D")
def depthwise_conv(facts: Facts) -> Hand:
    rank = rank_of(facts)
    activation = activation_name(facts.get("activation"))
    multiplier = int(facts.get("depth_multiplier", 1))
    bias = " + bias[c·m + q]" if facts.has("bias") else ""
    total = (
        f"Σ_{{{kernel_dims(rank)}}} {padded(facts)}[n, {tap(facts, rank)}, c] "
        f"· kernel[{kernel_dims(rank)}, c, q]"
    )
    layout = (
        f"kernel (Keras' depthwise_kernel) is {layout_text(rank, 'in, depth_multiplier')}: "
        f"each input channel c has its own {multiplier} filter(s); output channel c·m + q, "
        f"m = {multiplier}."
    )
    return Hand(
        settings=line(
            activation,
            *window_settings(facts, rank),
            f"depth_multiplier {multiplier}" if multiplier != 1 else None,
            bias_setting(facts),
        ),
        formula=f"y[n, {out_index(rank)}, c·m + q] = {applied(activation, total + bias)}",
        conventions=conventions(facts, rank, layout),
    )


@hand("SeparableConv1D", "SeparableConv2D")
def separable_conv(facts: Facts) -> Hand:
    rank = rank_of(facts)
    activation = activation_name(facts.get("activation"))
    bias = " + bias" if facts.has("bias") else ""
    layout = (
        f"depthwise_kernel is {layout_text(rank, 'in, depth_multiplier')}, pointwise_kernel "
        f"({'1, ' * rank}in·depth_multiplier, filters): a "
        "depthwise convolution, then a 1×1 convolution, the bias added once at the end."
    )
    return Hand(
        settings=line(
            activation,
            *window_settings(facts, rank),
            f"depth_multiplier {facts.get('depth_multiplier', 1)}",
            bias_setting(facts),
        ),
        formula=f"y = {applied(activation, SEPARABLE + bias)}",
        conventions=conventions(facts, rank, layout),
    )
