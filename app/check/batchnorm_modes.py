"""Each BatchNormalization layer's outputs in inference and in training mode, side by side.

The check's reference run gives one mode; a second run gives the other (NumPy is cheap next
to Keras). For each top-level BatchNormalization layer, the values at the first position of
the first sample, for the first CHANNELS channels along its axis: what it receives, and what
it gives in each mode. Keras' values for the mode it ran are added by the check.

The check's reference side writes each layer's outputs away as they are computed, so it takes
these values on the way (`BatchNormSamples`, handed every call of a run) instead of keeping
every layer's outputs for `batchnorm_modes`.
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


class BatchNormSamples:
    """The values `batchnorm_modes` shows, taken from one run's calls as they pass
    (`seen`, an `on_call` of app.analysis.reference.run_reference): what each top-level BN
    layer's first call receives and gives."""

    def __init__(self, graph: ModelGraph, inputs: Sequence[np.ndarray]) -> None:
        self.layers = [
            node
            for node in graph.keras_layers()
            if node.class_name in BN_CLASSES and node.calls and node.calls[0]
        ]
        self.feeds: dict[tuple[str, int, int], list[LayerNode]] = {}
        for node in self.layers:
            ref = node.calls[0][0]
            self.feeds.setdefault((ref.layer, ref.node_index, ref.tensor_index), []).append(node)
        self.received: dict[str, tuple[int, list[float]]] = {}  # layer -> (axis, its input)
        self.given: dict[str, list[float]] = {}
        positions = [r.layer for r in graph.inputs]
        for node in self.layers:
            ref = node.calls[0][0]
            if ref.layer in positions:
                self._receive(node, np.asarray(inputs[positions.index(ref.layer)]))

    def seen(self, node: LayerNode, call: int, outputs: list) -> None:
        for index, tensor in enumerate(outputs):
            for bn in self.feeds.get((node.name, call, index), []):
                if isinstance(tensor, np.ndarray):
                    self._receive(bn, tensor)
        if call == 0 and node.name in self.received and outputs:
            self.given[node.name] = sample(outputs[0], self.received[node.name][0])

    def _receive(self, node: LayerNode, x: np.ndarray) -> None:
        axis = bn_axis(node, np.ndim(x))
        self.received[node.name] = (axis, sample(x, axis))


def sampled_modes(inference: BatchNormSamples, training: BatchNormSamples) -> list[BatchNormModes]:
    """`batchnorm_modes` from the samples of a run in each mode."""
    found = []
    for node in inference.layers:
        if node.name not in inference.given or node.name not in training.given:
            continue
        axis, received = inference.received[node.name]
        found.append(
            BatchNormModes(
                layer=node.name,
                axis=axis,
                channels=list(range(len(received))),
                inputs=received,
                inference=inference.given[node.name],
                training=training.given[node.name],
            )
        )
    return found


def sample(x: np.ndarray, axis: int) -> list[float]:
    """x[0, first position, :CHANNELS] with the channel axis last: the first CHANNELS values
    along `axis`, every other index 0. Read by indexing, so a memory-mapped output is not
    read whole (moving the axis and flattening copied a whole sample: EfficientNetB7's BN
    layers grew the serving process by 256 MB)."""
    x = np.asarray(x)
    index: list[int | slice] = [0] * x.ndim
    index[axis] = slice(0, CHANNELS)
    return [float(v) for v in x[tuple(index)]]


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
