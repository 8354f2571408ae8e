"""Each BatchNormalization layer's outputs in inference and in training mode, side by side.

The check's reference run gives one mode; a second run gives the other (NumPy is cheap next
to Keras). For each top-level BatchNormalization layer, the values at the first position of
the first sample, for the first CHANNELS channels along its axis: what it receives, and what
it gives in each mode. Keras' values for the mode it ran are added by the check.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.analysis.batchnorm import BN_CLASSES
from app.graph import LayerNode, ModelGraph, TensorRef
from app.schemas import BatchNormModes

CHANNELS = 8
Outputs = dict[str, list[list[np.ndarray]]]


def batchnorm_modes(
    graph: ModelGraph,
    inputs: Sequence[np.ndarray],
    inference: Outputs,
    training: Outputs,
) -> list[BatchNormModes]:
    """For every BN layer of `graph` (not those of nested models), both modes' first values."""
    found = []
    for node in graph.keras_layers():
        if node.class_name in BN_CLASSES and node.calls and node.name in inference:
            x = _input_of(graph, node.calls[0][0], inputs, inference)
            axis = bn_axis(node, np.ndim(x))
            found.append(
                BatchNormModes(
                    layer=node.name,
                    axis=axis,
                    channels=list(range(min(CHANNELS, np.shape(x)[axis]))),
                    inputs=sample(x, axis),
                    inference=sample(inference[node.name][0][0], axis),
                    training=sample(training[node.name][0][0], axis),
                )
            )
    return found


def sample(x: np.ndarray, axis: int) -> list[float]:
    """x[0, first position, :CHANNELS] with the channel axis last."""
    moved = np.moveaxis(np.asarray(x), axis, -1)[0]
    return [float(v) for v in moved.reshape(-1, moved.shape[-1])[0, :CHANNELS]]


def bn_axis(node: LayerNode, rank: int) -> int:
    """The layer's axis as a non-negative int (Keras 2 wrote it as a one-element list)."""
    axis = node.config.get("axis", -1)
    if isinstance(axis, list | tuple):
        axis = axis[0]
    return int(axis) % rank


def _input_of(
    graph: ModelGraph, ref: TensorRef, inputs: Sequence[np.ndarray], outputs: Outputs
) -> np.ndarray:
    if ref.layer in outputs:
        return outputs[ref.layer][ref.node_index][ref.tensor_index]
    positions = [r.layer for r in graph.inputs]
    return np.asarray(inputs[positions.index(ref.layer)])
