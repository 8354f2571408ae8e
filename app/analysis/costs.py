"""What a forward pass costs per layer call, from the resolved graph's config and shapes only
(never the weights' values: specs and files alike, and no TensorFlow).

Batch 1; a dimension the graph leaves unknown counts as `UNKNOWN_DIM`. A layer called twice
costs twice. Activation memory: each call's outputs in the layer's compute dtype; the peak
is the most bytes alive at once over a topological run in which a tensor is freed after its
last use (the model's inputs and outputs stay alive).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.analysis.sizes import sized_graph, unknown_dims
from app.costs import UNKNOWN_DIM, Cost
from app.errors import InvalidRequest
from app.graph import LayerNode, ModelGraph, compute_dtype, itemsize, topological_calls
from app.layers.registry import lookup
from app.schemas import UnknownDim

# A rule refusing a config it cannot read leaves the layer's cost unknown, never the report.
RULE_ERRORS = (KeyError, ValueError, TypeError, IndexError, ZeroDivisionError, AttributeError)


@dataclass(frozen=True)
class LayerCost:
    """One layer's cost over all its calls (None: not known for this layer)."""

    macs: int | None
    flops: int | None
    macs_formula: str
    flops_formula: str
    output_bytes: int | None


UNKNOWN = LayerCost(None, None, "not known", "not known", None)


def layer_cost(node: LayerNode, sizes_note: str = "") -> LayerCost:
    """A leaf layer's MACs, FLOPs and output bytes, summed over its calls; `sizes_note`
    says at what sizes its unknown dimensions were counted (they are known in `node`)."""
    output_bytes = _output_bytes(node)
    entry = lookup(node.class_name)
    if node.class_name == "InputLayer":
        return LayerCost(0, 0, "0 MACs", "0 FLOPs", output_bytes)
    if entry is None or entry.cost is None or not node.output_shapes:
        return LayerCost(None, None, "not known", "not known", output_bytes)
    found = [_call_cost(entry.cost, node, call) for call in range(len(node.output_shapes))]
    if any(c is None for c in found):
        return LayerCost(None, None, "not known", "not known", output_bytes)
    total = Cost()
    for cost in found:
        total = total + cost  # type: ignore[operator]
    note = sizes_note or _unknown_note(node)
    calls = f"{len(found)} calls: " if len(found) > 1 else ""
    return LayerCost(
        total.macs,
        total.flops,
        calls + total.macs_formula() + note,
        calls + total.flops_formula() + note,
        output_bytes,
    )


@dataclass(frozen=True)
class ModelCosts:
    """Every layer's cost (a nested model's too), by node, and the peak activation memory:
    worked out once per report."""

    layers: dict[int, LayerCost]  # by id() of the graph's LayerNode: read as a value
    peak_activation_bytes: int
    unknown_dims: list[UnknownDim] = field(default_factory=list)


def model_costs(graph: ModelGraph, sizes: Mapping[str, int] | None = None) -> ModelCosts:
    """Every layer's cost; `sizes`: the size of each input's unknown dimensions (by input
    name, or "*" for all), when the caller asks for other than UNKNOWN_DIM."""
    chosen = unknown_dims(graph, sizes or {})
    counted = _counted_graph(graph, chosen)
    note = _sizes_note(chosen)
    layers = {
        id(node): layer_cost(sized, note if _has_unknown(node) else "")
        if sized.inner is None
        else container_cost(sized)
        for (_, node), (_, sized) in zip(graph.walk(), counted.walk(), strict=True)
    }
    return ModelCosts(layers, peak_activation_bytes(counted), chosen)


def total_macs(graph: ModelGraph, costs: ModelCosts) -> int:
    """The MACs of every leaf layer whose cost is known (= totals.macs)."""
    return sum(costs.layers[id(node)].macs or 0 for _, node in graph.walk() if node.inner is None)


def _counted_graph(graph: ModelGraph, chosen: list[UnknownDim]) -> ModelGraph:
    """The graph at the chosen input sizes. At the default size alone, a model whose shapes
    cannot be worked out there (a window longer than 32) is counted as it is, each unknown
    dimension at UNKNOWN_DIM; sizes the caller asked for that do not fit are refused."""
    if not chosen:
        return graph
    if any(dim.asked for dim in chosen):
        return sized_graph(graph, chosen)
    try:
        return sized_graph(graph, chosen)
    except InvalidRequest:
        return graph


def _sizes_note(chosen: list[UnknownDim]) -> str:
    sizes = {dim.size for dim in chosen}
    if len(sizes) == 1:
        return f" (unknown dimensions counted as {sizes.pop()})"
    return f" (unknown dimensions counted at {', '.join(f'{d.input} {d.size}' for d in chosen)})"


def _has_unknown(node: LayerNode) -> bool:
    shapes = [*_raw(node.input_shapes), *_raw(node.output_shapes)]
    return any(None in s[1:] for s in shapes)


def container_cost(node: LayerNode) -> LayerCost:
    """A nested model: the sum of its layers (unknown when any of theirs is)."""
    assert node.inner is not None
    costs = [layer_cost(inner) for _, inner in node.inner.walk() if inner.inner is None]
    macs = [c.macs for c in costs]
    flops = [c.flops for c in costs]
    known = None not in macs and None not in flops
    total_macs = sum(m for m in macs if m is not None) if known else None
    total_flops = sum(f for f in flops if f is not None) if known else None
    text = "sum of its layers"
    return LayerCost(
        total_macs,
        total_flops,
        f"{text} = {total_macs:,} MACs" if known else "not known",
        f"{text} = {total_flops:,} FLOPs" if known else "not known",
        _output_bytes(node),
    )


def _call_cost(rule, node: LayerNode, call: int) -> Cost | None:
    inputs = node.input_shapes[call] if call < len(node.input_shapes) else []
    input_shapes = list(_shapes(inputs))
    output_shapes = list(_shapes(node.output_shapes[call]))
    if None in input_shapes or None in output_shapes or not output_shapes:
        return None
    try:
        return rule(node.config, input_shapes, output_shapes)
    except RULE_ERRORS:
        return None


def _shapes(tree: Any) -> Iterator[tuple[int, ...] | None]:
    """Every shape in a tree, at batch 1 with unknown dimensions at UNKNOWN_DIM."""
    if tree is None:
        yield None
    elif isinstance(tree, tuple):
        yield at_batch_one(tree)
    else:
        for item in tree:
            yield from _shapes(item)


def at_batch_one(shape: tuple) -> tuple[int, ...]:
    if not shape:
        return ()
    return (1, *(UNKNOWN_DIM if d is None else int(d) for d in shape[1:]))


def _unknown_note(node: LayerNode) -> str:
    shapes = [*_raw(node.input_shapes), *_raw(node.output_shapes)]
    if any(None in s[1:] for s in shapes):
        return f" (unknown dimensions counted as {UNKNOWN_DIM})"
    return ""


def _raw(tree: Any) -> Iterator[tuple]:
    if isinstance(tree, tuple):
        yield tree
    elif isinstance(tree, list):
        for item in tree:
            yield from _raw(item)


def _output_bytes(node: LayerNode) -> int | None:
    shapes = list(_shapes(node.output_shapes))
    if not shapes or None in shapes:
        return None
    size = itemsize(compute_dtype(node.config))
    return sum(math.prod(s) for s in shapes if s is not None) * size


def call_bytes(node: LayerNode, call: int) -> int:
    """One call's outputs in bytes (0 when a shape is unknown)."""
    if call >= len(node.output_shapes):
        return 0
    shapes = list(_shapes(node.output_shapes[call]))
    size = itemsize(compute_dtype(node.config))
    return sum(math.prod(s) for s in shapes if s is not None) * size


def peak_activation_bytes(graph: ModelGraph) -> int:
    """The most output bytes alive at once when the calls run in topological order, each
    call's outputs freed after the last call that reads them (the model's outputs never).
    A nested model counts as its own run: while it runs, its peak less its inputs adds to
    what is alive outside."""
    order = topological_calls(graph)
    last_use: dict[tuple[str, int], int] = {}
    for step, (node, call) in enumerate(order):
        for ref in _reads(node, call):
            last_use[(ref.layer, ref.node_index)] = step
    kept = {(ref.layer, ref.node_index) for ref in graph.outputs}
    freed: dict[int, list[tuple[str, int]]] = {}
    for key, last in last_use.items():
        if key not in kept:
            freed.setdefault(last, []).append(key)
    alive: dict[tuple[str, int], int] = {}
    peak = held = 0
    for step, (node, call) in enumerate(order):
        produced = call_bytes(node, call)
        inside = _inner_peak(node) if node.inner is not None else produced
        peak = max(peak, held + max(produced, inside))
        key = (node.name, call)
        if key in last_use or key in kept:
            alive[key] = produced
            held += produced
        for gone in freed.get(step, []):  # read by nothing later: freed after this call
            held -= alive.pop(gone, 0)
    return peak


def _inner_peak(node: LayerNode) -> int:
    assert node.inner is not None
    inner_inputs = sum(
        call_bytes(node.inner.layer(ref.layer), ref.node_index) for ref in node.inner.inputs
    )
    return max(0, peak_activation_bytes(node.inner) - inner_inputs)


def _reads(node: LayerNode, call: int) -> list:
    calls = node.calls[call] if call < len(node.calls) else []
    extras = node.call_extras[call] if call < len(node.call_extras) else []
    return [*calls, *extras]
