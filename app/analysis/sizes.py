"""The size costs use for the model inputs' unknown dimensions, and the graph at those sizes.

By default a dimension the graph leaves unknown counts as `UNKNOWN_DIM` wherever it appears.
The caller may set a size per input (`{"tokens": 128}`, or `{"*": 224}` for every input):
the inputs' unknown dimensions (all but the batch axis) take it, and shapes are worked out
again from there, so a strided convolution halves it as Keras would. The report states the
size used for each input that has unknown dimensions (`Totals.unknown_dims`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from app.analysis.resolve import resolve
from app.costs import UNKNOWN_DIM
from app.errors import ExplainerError, InvalidRequest
from app.graph import LayerNode, ModelGraph
from app.schemas import UnknownDim

EVERY_INPUT = "*"
MAX_SIZE = 1 << 20


def unknown_dims(graph: ModelGraph, sizes: Mapping[str, int]) -> list[UnknownDim]:
    """Per model input with an unknown dimension: the size costs count it at, and whether
    the caller asked for it. A name that is no input of the model is refused."""
    check_sizes(graph, sizes)
    found = []
    for name, shape in _input_shapes(graph):
        if any(d is None for d in shape[1:]):
            asked = name in sizes or EVERY_INPUT in sizes
            size = sizes.get(name, sizes.get(EVERY_INPUT, UNKNOWN_DIM))
            found.append(UnknownDim(input=name, size=size, asked=asked))
    return found


def check_sizes(graph: ModelGraph, sizes: Mapping[str, int]) -> None:
    names = [name for name, _ in _input_shapes(graph)]
    strangers = sorted(set(sizes) - {*names, EVERY_INPUT})
    if strangers:
        raise InvalidRequest(
            f"unknown_dims names {', '.join(strangers)}, which is not an input of this model "
            f"(its inputs: {', '.join(names)}).",
            details={"unknown": strangers, "inputs": names},
        )
    bad = sorted(name for name, size in sizes.items() if not 1 <= size <= MAX_SIZE)
    if bad:
        raise InvalidRequest(
            f"unknown_dims sizes must be between 1 and {MAX_SIZE:,} (not so for {', '.join(bad)}).",
            details={"inputs": bad},
        )


def sized_graph(graph: ModelGraph, chosen: list[UnknownDim]) -> ModelGraph:
    """A copy of `graph` whose inputs have their unknown dimensions at the chosen sizes,
    its shapes resolved again (its weights are the same arrays, never read here)."""
    sizes = {dim.input: dim.size for dim in chosen}
    copy = _copy(graph, sizes)
    try:
        resolve(copy, weights_in_file=_has_weights(graph))
    except ExplainerError as exc:
        raise InvalidRequest(
            "At the sizes asked for in unknown_dims "
            f"({', '.join(f'{k}={v}' for k, v in sizes.items())}) a layer of this model gets a "
            f"shape it cannot take ({exc.message}) Ask for other sizes.",
            details={"unknown_dims": sizes},
        ) from exc
    return copy


def _copy(graph: ModelGraph, sizes: Mapping[str, int]) -> ModelGraph:
    layers = [_copy_node(node, sizes) for node in graph.layers]
    return replace(graph, layers=layers)


def _copy_node(node: LayerNode, sizes: Mapping[str, int]) -> LayerNode:
    config = node.config
    if node.name in sizes and isinstance(config.get("batch_shape"), list | tuple):
        shape = list(config["batch_shape"])
        shape[1:] = [sizes[node.name] if d is None else d for d in shape[1:]]
        config = {**config, "batch_shape": shape}
    inner = _copy(node.inner, {}) if node.inner is not None else None
    return replace(
        node, config=config, inner=inner, input_shapes=[], output_shapes=[], weights=[], notes=[]
    )


def _input_shapes(graph: ModelGraph) -> list[tuple[str, tuple]]:
    found = []
    for ref in graph.inputs:
        node = graph.layer(ref.layer)
        shape = node.output_shapes[0] if node.output_shapes else None
        if isinstance(shape, tuple):
            found.append((ref.layer, shape))
    return found


def _has_weights(graph: ModelGraph) -> bool:
    return any(node.stored is not None for _, node in graph.walk())
