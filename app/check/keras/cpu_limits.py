"""What TensorFlow cannot run on this server's CPU, told from its error.

TensorFlow's own CPU kernels run some operations in one layout only (channels last) or
without dilation; its oneDNN kernels, its default on newer x86 CPUs (those with AVX-512),
run them all. So one model runs on one machine and not on another. When Keras' predict fails
that way, the check ends `unsupported` with `keras-cpu-unsupported`, not with a generic
`keras-predict-failed`: the model is fine, TensorFlow on this CPU is not able to run it.

The messages matched are TensorFlow's own (tensorflow/core/kernels: conv_ops.cc,
conv_grad_input_ops.cc, conv_grad_ops_3d.cc, depthwise_conv_op.cc, pooling_ops_common.cc).
Our sentence names the layer by the model's own layer names, matched against the graph node
or Keras class the error names, and never repeats TensorFlow's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.check.keras.jobs import JobFailed
from app.check.keras.loading import _chain

CODE = "keras-cpu-unsupported"
CHANNELS_FIRST, DILATION = "channels-first", "dilation"

# (TensorFlow's message, the op it comes from, what that op's CPU kernel cannot do)
_LIMITS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (
        re.compile(r"The Conv2D op currently only supports the NHWC tensor format on the CPU"),
        "Conv2D",
        CHANNELS_FIRST,
    ),
    (
        re.compile(r"CPU implementation of Conv3D currently only supports the NHWC tensor format"),
        "Conv3D",
        CHANNELS_FIRST,
    ),
    (
        re.compile(r"Conv2D(?:Custom)?BackpropInputOp(?: \[[^\]]*\])? only supports NHWC"),
        "Conv2DBackpropInput",
        CHANNELS_FIRST,
    ),
    (
        re.compile(r"Conv3DBackpropInputOpV2 only supports NDHWC on the CPU"),
        "Conv3DBackpropInputV2",
        CHANNELS_FIRST,
    ),
    (
        re.compile(r"Depthwise convolution on CPU is only supported for NHWC format"),
        "DepthwiseConv2dNative",
        CHANNELS_FIRST,
    ),
    (re.compile(r"Default (?:MaxPooling|AvgPooling)Op only supports NHWC"), "Pool", CHANNELS_FIRST),
    (re.compile(r"Default Pooling3DOp only supports NDHWC"), "Pool3D", CHANNELS_FIRST),
    (
        re.compile(r"Conv2DBackpropInputOp \[[^\]]*\] not yet support dilation rates larger"),
        "Conv2DBackpropInput",
        DILATION,
    ),
    (
        re.compile(r"Current CPU implementations do not yet support dilation rates larger"),
        "Conv2DBackpropInput",
        DILATION,
    ),
    (
        re.compile(r"Current CPU implementation does not yet support dilation rates larger"),
        "Conv3DBackpropInputV2",
        DILATION,
    ),
)
_NODE = re.compile(r"\{\{node ([\w./-]+)\}\}")
_CALLING = re.compile(r"Exception encountered when calling (\w+)\.call\(\)")
_KERNEL_CANNOT = {
    CHANNELS_FIRST: "takes channels-last data only",
    DILATION: "does not support a dilation rate above 1",
}
_LAYER_IS = {CHANNELS_FIRST: "channels_first", DILATION: "dilated"}


@dataclass(frozen=True)
class LayerFacts:
    """A layer as the error is matched against it: its name and class, the classes it is
    built of (itself and its sublayers: a ConvLSTM2D calls a ConvLSTMCell), its data format
    and dilation."""

    name: str
    class_name: str
    classes: frozenset[str]
    channels_first: bool
    dilated: bool


def facts_of(layer: Any) -> LayerFacts:
    """A Keras layer's facts, from its class, its sublayers and its config."""
    try:
        config = layer.get_config()
    except Exception:  # a layer without a config cannot be told channels_first or dilated
        config = {}
    rates = np.ravel(config.get("dilation_rate", 1)).tolist()
    return LayerFacts(
        name=layer.name,
        class_name=type(layer).__name__,
        classes=frozenset(type(s).__name__ for s in layer._flatten_layers(include_self=True)),
        channels_first=config.get("data_format") == "channels_first",
        dilated=any(isinstance(r, int) and r > 1 for r in rates),
    )


def explain_cpu_limit(exc: BaseException, layers: list[LayerFacts]) -> JobFailed | None:
    """The `keras-cpu-unsupported` failure when TensorFlow's error says its CPU kernel cannot
    run an operation of this model; None for any other error."""
    texts = [str(e) for e in _chain(exc)]
    for pattern, op, limit in _LIMITS:
        if any(pattern.search(text) for text in texts):
            found = _located(texts, layers, limit)
            failed = JobFailed(CODE, _sentence(found, op, limit), exc)
            failed.result.reason = {
                "kind": "cpu-unsupported",
                "op": op,
                "limit": limit,
                "layers": [layer.name for layer in found],
            }
            return failed
    return None


def _located(texts: list[str], layers: list[LayerFacts], limit: str) -> list[LayerFacts]:
    """The layers the error names (by graph node, or by the Keras class that was called)
    among those the limit applies to."""
    fitting = [f for f in layers if (f.channels_first if limit == CHANNELS_FIRST else f.dilated)]
    named: set[str] = set()
    for text in texts:
        for node in _NODE.findall(text):
            named |= _by_scope(node, {f.name for f in fitting})
        for class_name in _CALLING.findall(text):
            named |= {f.name for f in fitting if class_name in f.classes}
    return [f for f in fitting if f.name in named]


def _by_scope(node: str, names: set[str]) -> set[str]:
    """The layer names a node's outermost matching scope can stand for. TensorFlow makes
    scope names unique with a suffix (`conv2d` may become `conv2d_2`), so a scope names the
    layer of its own name or of its name without the last `_<n>`."""
    for scope in node.split("/"):
        found = {name for name in (scope, re.sub(r"_\d+$", "", scope)) if name in names}
        if found:
            return found
    return set()


def _sentence(found: list[LayerFacts], op: str, limit: str) -> str:
    if len(found) == 1:
        subject = f"layer {found[0].name} ({found[0].class_name}), which is {_LAYER_IS[limit]},"
    elif found:
        names = ", ".join(f.name for f in found[:10])
        subject = f"one of the layers {names} ({_LAYER_IS[limit]})"
    else:
        subject = "this model"
    return (
        f"TensorFlow cannot run {subject} on this server's CPU: its CPU kernel for {op} "
        f"{_KERNEL_CANNOT[limit]}. This is a limit of TensorFlow on this machine, not a fault "
        "of the model: where TensorFlow uses its oneDNN kernels (its default on newer x86 "
        "CPUs, such as those with AVX-512) the model runs."
    )
