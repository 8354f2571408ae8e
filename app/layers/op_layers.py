"""tf.keras op layers: `TFOpLambda`, `SlicingOpLambda`, `TensorFlowOpLayer` (no weights).

tf.keras (2.4 to 2.15, and tf_keras) records a TensorFlow function or a Python operator
applied to a Keras tensor (`x + y`, `tf.concat`, `x[:, 1:]`) as one of these layers; Keras 3
knows none of them. Their forward (app.reference.op_layers) runs only the functions of its
allowlist; the safety scan refuses any other by name.

The output shape is what that same NumPy function gives on a probe: unknown sizes are tried
at two sizes, and a size that follows them stays unknown. So the shape and the forward can
never disagree, for every function of the allowlist, without a second shape rule per function.
The probe is small (a broadcast view, capped at `PROBE_MAX_VALUES`); past the cap, or for a
function that is refused, the shape is unknown.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.errors import UnsupportedModel
from app.graph import Shape, ShapeTree
from app.layers.registry import Config, Traits, register
from app.reference.op_layers import (
    NODE_DEF_CLASS,
    call_function,
    call_template,
    node_def_call,
    op_layer_function,
)

FAMILY = "op_layers"
PROBE_SIZES = (6, 7)  # an unknown size, tried twice: a size that follows it is unknown
PROBE_MAX_VALUES = 1 << 22
# Where tf.keras keeps the classes, for a `.keras` archive tf_keras wrote (a legacy HDF5
# file names no module).
MODULES = {
    "TFOpLambda": ("keras.src.layers.core.tf_op_layer", "tf_keras.src.layers.core.tf_op_layer"),
    "SlicingOpLambda": (
        "keras.src.layers.core.tf_op_layer",
        "tf_keras.src.layers.core.tf_op_layer",
    ),
    NODE_DEF_CLASS: ("keras.src.engine.base_layer", "tf_keras.src.engine.base_layer"),
}


def op_layer_output(class_name: str):
    def output_shape(config: Config, input_shapes: list[ShapeTree]) -> Shape | None:
        if op_layer_function(class_name, config) is None:
            return None  # refused by the scan: never run, not even on a probe
        runs = [_probe(class_name, config, input_shapes, size) for size in PROBE_SIZES]
        if any(run is None for run in runs):
            return None
        first, second = runs
        if len(first) != len(second):
            raise ValueError("the output's rank follows an unknown size")
        return tuple(a if a == b else None for a, b in zip(first, second, strict=True))

    return output_shape


def _probe(
    class_name: str, config: Config, input_shapes: list[ShapeTree], size: int
) -> tuple[int, ...] | None:
    """The output shape of the function on ones of the input shapes (unknown sizes: `size`)."""
    shapes = [tuple(size if d is None else int(d) for d in _shape(s)) for s in input_shapes]
    if any(int(np.prod(s)) > PROBE_MAX_VALUES for s in shapes):
        return None
    inputs = [np.broadcast_to(np.ones((), np.float32), s) for s in shapes]
    try:
        with np.errstate(all="ignore"):
            if class_name == NODE_DEF_CLASS:
                args, kwargs = node_def_call(config, inputs)
            else:
                args, kwargs = call_template(config, inputs)
            name = op_layer_function(class_name, config)
            assert name is not None
            return tuple(call_function(name, args, kwargs).shape)
    except UnsupportedModel:
        return None


def _shape(shape: Any) -> tuple:
    if not isinstance(shape, tuple):
        raise ValueError("an op layer's input is one tensor")
    return shape


OP_LAYER = Traits(op_layer=True)

for _name in ("TFOpLambda", "SlicingOpLambda"):
    register(
        _name,
        family=FAMILY,
        summary="A TensorFlow function tf.keras recorded as a layer (`config.function`), "
        "called with the arguments it was given (no weights).",
        traits=OP_LAYER,
        modules=MODULES[_name],
    )(op_layer_output(_name))

register(
    NODE_DEF_CLASS,
    family=FAMILY,
    summary="A TensorFlow operation tf.keras recorded as a layer with eager execution off "
    "(`config.node_def.op`) on its inputs and constants (no weights).",
    traits=OP_LAYER,
    modules=MODULES[NODE_DEF_CLASS],
)(op_layer_output(NODE_DEF_CLASS))
