"""Budgets: how much running a model would cost, from its resolved graph, before anything runs.

Every figure is worked out from shapes alone (nothing is allocated, so a spec of a
10-billion-parameter model is measured in milliseconds), at batch 1:

    params            every weight's element count, a shared layer's once (= totals.params)
    weight_bytes      the same in bytes, each weight at its own dtype
    largest_tensor    the largest single tensor, a weight or a layer call's output, in bytes
    activation_bytes  the model's inputs plus the SUM of every layer call's output, elements ×
                      the layer's compute itemsize. The sum, not the peak, on purpose: the
                      check asks Keras for every layer's output at once (one sub-model over all
                      layer outputs), so all of them are alive together; a plain `predict`
                      would need less. InputLayers count once, as the model's inputs (Keras
                      lists them among a Functional's layers, not among a Sequential's).
    largest_output_bytes  the largest single layer output (a weight may be larger)
    output_bytes      the model's outputs together
    layers            leaf layers, nested models' included (= totals.layers)
    input_elements    elements of all model inputs together
    input_bytes       the same in bytes, each Input at the dtype its seeded values are made in
                      (its variable dtype): the serving process makes them, so they are
                      counted in bytes before anything is allocated. A dtype with a sub-array
                      shape ("(4096,4096)f8") weighs what numpy makes of it: 8 such "elements"
                      are 1 GiB

A dimension the graph leaves unknown (`None` beyond the batch axis, e.g. a sequence length)
counts as `unknown_dim`; give it the size the check will feed. Limits arrive as an argument:
analysis never reads settings.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from pydantic.dataclasses import dataclass as wire_dataclass

from app.errors import (
    ActivationBudgetExceeded,
    BudgetExceeded,
    InputBudgetExceeded,
    LayerBudgetExceeded,
    ParameterBudgetExceeded,
    TensorBudgetExceeded,
)
from app.graph import LayerNode, ModelGraph, compute_dtype, itemsize, variable_dtype

DEFAULT_UNKNOWN_DIM = 32
GiB = 1 << 30


@dataclass(frozen=True)
class BudgetLimits:
    """The most a model may need to be run in Keras."""

    max_params: int
    max_tensor_bytes: int
    max_activation_bytes: int
    max_layers: int
    max_input_elements: int
    max_input_bytes: int


# The proposal for `Settings`: every keras.applications model passes at its default input
# size. Measured: ConvNeXtXLarge has the most parameters (350,196,968); VGG16's fc1 kernel is
# the largest weight (411 MB); EfficientNetB7 at 600×600 sums to the most layer outputs
# (3.9 GiB), EfficientNetV2L to 2.05 GiB, ResNet50 to 142 MiB, VGG16 to 58 MiB.
DEFAULT_BUDGETS = BudgetLimits(
    max_params=400_000_000,
    max_tensor_bytes=1 * GiB,
    max_activation_bytes=4 * GiB,
    max_layers=10_000,
    max_input_elements=50_000_000,
    max_input_bytes=200_000_000,  # 50 million float32 values
)


@wire_dataclass(frozen=True)
class TensorSize:
    """One tensor: the layer it belongs to (its path), `weight`, `input` or `output`, its
    shape (batch 1) and bytes."""

    layer: str
    kind: str
    shape: tuple[int, ...]
    bytes: int


@wire_dataclass(frozen=True)
class BudgetFigures:
    """A model's figures (pydantic: they cross from the process that read the model)."""

    params: int
    weight_bytes: int
    largest_tensor: TensorSize | None
    activation_bytes: int
    layers: int
    input_elements: int
    input_bytes: int
    largest_output_bytes: int = 0
    output_bytes: int = 0


# (figure, limit field, error class), in the order an error class is picked when several fail.
CHECKS: tuple[tuple[str, str, type[BudgetExceeded]], ...] = (
    ("params", "max_params", ParameterBudgetExceeded),
    ("largest_tensor_bytes", "max_tensor_bytes", TensorBudgetExceeded),
    ("activation_bytes", "max_activation_bytes", ActivationBudgetExceeded),
    ("layers", "max_layers", LayerBudgetExceeded),
    ("input_elements", "max_input_elements", InputBudgetExceeded),
    ("input_bytes", "max_input_bytes", InputBudgetExceeded),
)
WHAT = {
    "params": "parameters",
    "largest_tensor_bytes": "bytes in its largest tensor",
    "activation_bytes": "bytes of layer outputs at batch 1",
    "layers": "layers",
    "input_elements": "input values at batch 1",
    "input_bytes": "bytes of input values at batch 1",
}


def measure(graph: ModelGraph, *, unknown_dim: int = DEFAULT_UNKNOWN_DIM) -> BudgetFigures:
    """The figures of a resolved graph (see the module docstring)."""
    weights = list(_weight_tensors(graph))
    inputs = list(_input_tensors(graph, unknown_dim))
    layer_outputs = list(_output_tensors(graph, unknown_dim))
    outputs = [*inputs, *layer_outputs]
    return BudgetFigures(
        params=sum(w.count for w in graph.all_weights()),
        weight_bytes=sum(t.bytes for t in weights),
        largest_tensor=max([*weights, *outputs], key=lambda t: t.bytes, default=None),
        activation_bytes=sum(t.bytes for t in outputs),
        layers=sum(1 for _, node in graph.walk() if node.inner is None),
        input_elements=sum(math.prod(t.shape) for t in inputs),
        input_bytes=sum(_seeded_bytes(graph, t) for t in inputs),
        largest_output_bytes=max((t.bytes for t in layer_outputs), default=0),
        output_bytes=sum(t.bytes for t in _model_outputs(graph, unknown_dim)),
    )


def check_budgets(
    graph: ModelGraph, limits: BudgetLimits, *, unknown_dim: int = DEFAULT_UNKNOWN_DIM
) -> BudgetFigures:
    """The figures, or a 422 `BudgetExceeded` subclass naming every figure over its limit,
    with all figures and limits in `details`."""
    return check_figures(measure(graph, unknown_dim=unknown_dim), limits)


def check_figures(figures: BudgetFigures, limits: BudgetLimits) -> BudgetFigures:
    """`figures`, or the 422 of the first one over its limit (see `check_budgets`)."""
    values = _flat(figures)
    exceeded = [name for name, limit, _ in CHECKS if values[name] > getattr(limits, limit)]
    if exceeded:
        raise _budget_error(exceeded, values, figures, limits)
    return figures


def _budget_error(
    exceeded: list[str], values: dict[str, int], figures: BudgetFigures, limits: BudgetLimits
) -> BudgetExceeded:
    first, limit, error = next(check for check in CHECKS if check[0] == exceeded[0])
    return error(
        f"The model needs {values[first]:,} {WHAT[first]}; the explainer runs models of at most "
        f"{getattr(limits, limit):,} in Keras.",
        details={"exceeded": exceeded, "figures": asdict(figures), "limits": asdict(limits)},
    )


def _flat(figures: BudgetFigures) -> dict[str, int]:
    largest = figures.largest_tensor.bytes if figures.largest_tensor else 0
    return {**asdict(figures), "largest_tensor_bytes": largest}


def _weight_tensors(graph: ModelGraph) -> Iterator[TensorSize]:
    for parents, node in graph.walk():
        for weight in node.weights:
            path = "/".join((*parents, node.name, weight.name))
            yield TensorSize(path, "weight", tuple(weight.shape), weight.nbytes)


def _output_tensors(graph: ModelGraph, unknown_dim: int) -> Iterator[TensorSize]:
    for parents, node in graph.walk():
        if node.inner is not None or node.class_name == "InputLayer":
            continue  # a nested model's outputs are its last layers', an input is counted once
        yield from _tensors(node, "/".join((*parents, node.name)), "output", unknown_dim)


def _model_outputs(graph: ModelGraph, unknown_dim: int) -> Iterator[TensorSize]:
    for ref in graph.outputs:
        node = graph.layer(ref.layer)
        calls = node.output_shapes[ref.node_index : ref.node_index + 1]
        shapes = list(_shapes_of(calls))
        if ref.tensor_index < len(shapes):
            dims = _at_batch_one(shapes[ref.tensor_index], unknown_dim)
            yield TensorSize(node.name, "output", dims, math.prod(dims) * _itemsize(node))


def _input_tensors(graph: ModelGraph, unknown_dim: int) -> Iterator[TensorSize]:
    for ref in graph.inputs:
        node = graph.layer(ref.layer)
        yield from _tensors(node, node.name, "input", unknown_dim, calls=1)


def _seeded_bytes(graph: ModelGraph, tensor: TensorSize) -> int:
    """An input's bytes at the dtype `app.check.inputs` makes it in (not its compute dtype:
    a mixed_float16 Input is seeded in float32)."""
    return math.prod(tensor.shape) * itemsize(variable_dtype(graph.layer(tensor.layer).config))


def _tensors(
    node: LayerNode, path: str, kind: str, unknown_dim: int, calls: int | None = None
) -> Iterator[TensorSize]:
    size = _itemsize(node)
    for shape in _shapes_of(node.output_shapes[:calls]):
        dims = _at_batch_one(shape, unknown_dim)
        yield TensorSize(path, kind, dims, math.prod(dims) * size)


def _itemsize(node: LayerNode) -> int:
    return itemsize(compute_dtype(node.config))


def _shapes_of(tree: Any) -> Iterator[tuple]:
    """Every shape in a list of output shapes (a multi-output call gives a list of them)."""
    if isinstance(tree, tuple):
        yield tree
    elif isinstance(tree, list):
        for item in tree:
            yield from _shapes_of(item)


def _at_batch_one(shape: tuple, unknown_dim: int) -> tuple[int, ...]:
    dims = [1, *shape[1:]] if shape else []
    return tuple(unknown_dim if d is None else int(d) for d in dims)
