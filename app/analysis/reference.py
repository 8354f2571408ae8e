"""The reference forward over a whole model: each layer's NumPy forward, call by call.

    materialize_weights(graph, seed=0)            -> list[np.ndarray], get_weights() order
    run_reference(graph, weights, inputs,
                  *, training=False, keep_all=True, on_call=None) -> ReferenceRun
    run_one_call(graph, weights, node, call, tensor, *, training=False) -> list[np.ndarray]

`graph` is resolved (`app.analysis.resolve`), so every weight knows its index in
`model.get_weights()`; `weights` is that list. Calls run in topological order, as Keras'
Functional runs them: a shared layer runs once per call with the same weights, a nested
Sequential or Functional model runs its own graph, a layer with several outputs hands each
consumer the tensor it names, and masks travel with tensors (`app.reference.forwards`
describes the mask contract): a layer's forward receives the masks of its inputs when its
call has a single tensor argument (Keras fills `mask` in only then), and its output masks
come from its class' `compute_mask` rule, on the class's registry entry. Inputs are cast to
their Input's dtype and rank adjusted as Keras' Functional does (a trailing axis of 1 added or
removed).

`training=True` runs the training-mode computations (BatchNormalization's batch statistics);
the random layers stay deterministic (dropout off), as the check runs Keras.

Nothing here imports Keras, TensorFlow or JAX, nor settings or FastAPI.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.analysis.initializers import initial_value
from app.errors import InvalidRequest, UnsupportedModel
from app.graph import (
    LayerNode,
    ModelGraph,
    TensorRef,
    WeightRef,
    compute_dtype,
    topological_calls,
    variable_dtype,
)
from app.layers.registry import output_masks, traits_of
from app.reference import forwards
from app.reference.forwards import Mask
from app.reference.precision import autocast, half_compute_dtype, rounded

Key = tuple[str, int, int]  # (layer, call, tensor index): one tensor of the graph


@dataclass
class ReferenceRun:
    """What the reference forward computed.

    `outputs`: the model's outputs, in `graph.outputs` order.
    `layers`: with keep_all, {layer name: [outputs of call 0, of call 1, …]} for every layer
    of `graph.keras_layers()` but InputLayers, each call's outputs a list of arrays in Keras'
    flattened order — what `keras.Model(model.inputs, [every layer's outputs])` gives and the
    worker reports. A nested model is one entry (its outputs); its inner layers are not listed.
    `operations`: with keep_all, the same for the Keras operations of the graph (`x + y`,
    TFOpLambda), which Keras does not list as layers; a layer's inputs may be theirs.
    """

    outputs: list[np.ndarray]
    layers: dict[str, list[list[np.ndarray]]] = field(default_factory=dict)
    operations: dict[str, list[list[np.ndarray]]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Run:
    weights: Sequence[np.ndarray]
    training: bool
    keep_all: bool
    # Layer name -> a forward run instead of its class's (a known mistake, app.diagnosis).
    replaced: Mapping[str, forwards.ForwardFn] = field(default_factory=dict)


Record = dict[str, dict[int, list[np.ndarray]]]  # layer name -> call -> outputs
OnCall = Callable[[LayerNode, int, list], None]  # a node, its call, that call's outputs


def run_reference(
    graph: ModelGraph,
    weights: Sequence[np.ndarray],
    inputs: Sequence[np.ndarray],
    *,
    training: bool = False,
    keep_all: bool = True,
    replaced: Mapping[str, forwards.ForwardFn] | None = None,
    on_call: OnCall | None = None,
) -> ReferenceRun:
    """Run the reference forward of `graph` on `inputs` (one array per model input).

    keep_all=False is the lean mode `predict` works in: only what the outputs need is
    computed, each tensor is dropped after its last consumer, and `layers` stays empty.
    `on_call(node, call, outputs)` is handed each call of `graph`'s own layers and operations
    (not a nested model's) as it is run, in run order, and the run is lean: a caller that
    writes each layer's outputs away holds the tensors still to be read, never the sum of
    every layer's (the check's reference side, app.check.reference_side).
    `replaced` runs the named layers with other forwards (same contract; app.diagnosis
    replays known mistakes with it).
    """
    if len(inputs) != len(graph.inputs):
        raise InvalidRequest(
            f"The model takes {len(graph.inputs)} inputs; {len(inputs)} were given.",
            {"expected": len(graph.inputs), "given": len(inputs)},
        )
    keep_all = keep_all and on_call is None
    run = _Run(weights, training, keep_all, replaced or {})
    record: Record | None = {} if keep_all else None
    outputs, _ = _run_graph(graph, list(inputs), [None] * len(inputs), run, record, on_call)
    if record is None:
        return ReferenceRun(outputs)
    return ReferenceRun(outputs, _layer_outputs(graph, record), _operation_outputs(graph, record))


def materialize_weights(graph: ModelGraph, seed: int = 0) -> list[np.ndarray]:
    """Every weight in `model.get_weights()` order: the file's values where it stores them,
    else an initial value (`app.analysis.initializers`: exact for constant initializers,
    a seeded draw of the same family and scale otherwise — not Keras' own draws)."""
    rng = np.random.default_rng(seed)
    owned = [(ref, node) for _, node in graph.walk() for ref in node.weights]
    owned.sort(key=lambda pair: _index(pair[0]))
    return [
        _stored(ref) if ref.values is not None else initial_value(node, ref, rng)
        for ref, node in owned
    ]


def _index(ref: WeightRef) -> int:
    if ref.index is None:
        raise ValueError(f"weight {ref.name!r} has no get_weights() index: resolve the graph first")
    return ref.index


def _stored(ref: WeightRef) -> np.ndarray:
    return np.asarray(ref.values[()])  # type: ignore[index]  (an h5py dataset or an array)


# Running a graph -------------------------------------------------------------------------


def _key(ref: TensorRef) -> Key:
    return (ref.layer, ref.node_index, ref.tensor_index)


def _run_graph(
    graph: ModelGraph,
    inputs: list[np.ndarray],
    masks: list[Mask],
    run: _Run,
    record: Record | None,
    on_call: OnCall | None = None,
) -> tuple[list[np.ndarray], list[Mask]]:
    """(outputs, their masks) of one graph run on `inputs` carrying `masks`; each call's
    outputs go to `record` and `on_call` when given (the model's own layers, not a nested
    model's)."""
    values, tensor_masks = _fed(graph, inputs, masks)
    calls = schedule(graph)
    remaining = None if run.keep_all else _uses(graph, calls)
    for node, call in calls:
        refs = call_refs(node, call)
        if not all(_key(r) in values for r in refs):
            continue  # an InputLayer the model does not take: nothing flows into this call
        outs, out_masks = _run_call(node, call, values, tensor_masks, run)
        for index, (out, mask) in enumerate(zip(outs, out_masks, strict=True)):
            values[(node.name, call, index)], tensor_masks[(node.name, call, index)] = out, mask
        if record is not None:  # operations too: a layer's inputs may be theirs
            record.setdefault(node.name, {})[call] = outs
        if on_call is not None:
            on_call(node, call, outs)
        if remaining is not None:
            _release(refs, remaining, values, tensor_masks)
    outputs = [_data(values[_key(r)], f"output {r.layer!r}") for r in graph.outputs]
    return outputs, [tensor_masks.get(_key(r)) for r in graph.outputs]


def run_one_call(
    graph: ModelGraph,
    weights: Sequence[np.ndarray],
    node: LayerNode,
    call: int,
    tensor: Callable[[TensorRef], np.ndarray],
    *,
    training: bool = False,
) -> list[np.ndarray]:
    """The outputs of call `call` of `node` (a layer of `graph`, not an InputLayer), its
    input tensors given by `tensor(ref)` for each of `call_refs(node, call)`: one layer's
    computation on inputs computed elsewhere (Keras', app.check.rejudge).

    No masks travel with given tensors (a file of Keras' outputs holds none): a call whose
    inputs carry one in the model runs without it here, so its outputs may differ from the
    model's, never agree by accident where the model's would not."""
    values = {_key(ref): tensor(ref) for ref in call_refs(node, call)}
    outs, _ = _run_call(node, call, values, {}, _Run(weights, training, keep_all=False))
    return [_data(out, f"output of layer {node.name!r}") for out in outs]


def _fed(graph: ModelGraph, inputs: list[np.ndarray], masks: list[Mask]) -> tuple[dict, dict]:
    """The graph's input tensors and their masks, keyed like every other tensor."""
    values = {
        _key(r): standardize_input(graph.layer(r.layer), x)
        for r, x in zip(graph.inputs, inputs, strict=True)
    }
    return values, {_key(r): m for r, m in zip(graph.inputs, masks, strict=True)}


class _PropagatedMask:
    """Stands for the output of a mask operation: the mask the rules propagate."""


PROPAGATED = _PropagatedMask()


def _data(value, where: str) -> np.ndarray:
    if value is PROPAGATED:
        raise UnsupportedModel(
            f"The {where} is computed by a Keras operation that has no reference forward.",
            {"where": where},
        )
    return value


def call_refs(node: LayerNode, call: int) -> list[TensorRef]:
    """The tensors call `call` of `node` takes: its arguments, then those passed by keyword."""
    args = node.calls[call] if call < len(node.calls) else []
    extras = node.call_extras[call] if call < len(node.call_extras) else []
    return [*args, *extras]


def schedule(graph: ModelGraph) -> list[tuple[LayerNode, int]]:
    """The calls the outputs need, in topological order: a call whose output leads nowhere
    (a shared layer called on an input that reaches no output) is not part of the model's
    graph in Keras either, so it is neither run nor reported."""
    order = [(n, c) for n, c in topological_calls(graph) if n.class_name != "InputLayer"]
    needed: set[tuple[str, int]] = set()
    pending = [(r.layer, r.node_index) for r in graph.outputs]
    while pending:
        name, call = pending.pop()
        if (name, call) not in needed:
            needed.add((name, call))
            pending += [(r.layer, r.node_index) for r in call_refs(graph.layer(name), call)]
    return [(n, c) for n, c in order if (n.name, c) in needed]


def _uses(graph: ModelGraph, schedule: list[tuple[LayerNode, int]]) -> Counter[Key]:
    """How many times each tensor is still to be read: by a call, or as a model output."""
    uses: Counter[Key] = Counter(_key(r) for n, c in schedule for r in call_refs(n, c))
    uses.update(_key(r) for r in graph.outputs)
    return uses


def _release(refs: list[TensorRef], remaining: Counter[Key], values: dict, masks: dict) -> None:
    for ref in refs:
        key = _key(ref)
        remaining[key] -= 1
        if remaining[key] == 0:
            values.pop(key, None)
            masks.pop(key, None)


def _run_call(
    node: LayerNode, call: int, values: dict, tensor_masks: dict, run: _Run
) -> tuple[list, list[Mask]]:
    """One call of one layer: (its outputs, their masks)."""
    raw = [values[_key(r)] for r in node.calls[call]]
    masks = [tensor_masks.get(_key(r)) for r in node.calls[call]]
    if traits_of(node.class_name).records_mask:  # recorded from the propagated masks
        return [PROPAGATED], [None]
    args = [_data(x, f"input of layer {node.name!r}") for x in raw]
    if node.inner is not None:
        return _run_graph(node.inner, args, masks, run, None)
    keyword_masks, states = _split_extras(node, call, values, masks)
    # Keras fills `mask` in only for a call with one tensor argument, unless it is passed.
    layer_masks = keyword_masks or (None if states else masks)
    weights = layer_weights(node, run.weights)
    computes_in = compute_dtype(node.config)
    half = half_compute_dtype(computes_in)
    if half is not None:  # Keras' casts around a layer computing in float16 or bfloat16
        args, states = [rounded(x, half) for x in args], [rounded(x, half) for x in states]
        if not traits_of(node.class_name).float32_variables:
            weights = {name: rounded(w, half) for name, w in weights.items()}
    elif not (node.is_operation or traits_of(node.class_name).op_layer):  # layers autocast
        args, states = autocast(args, computes_in), autocast(states, computes_in)
    if node.name in run.replaced:
        output = run.replaced[node.name](node.config, weights, [*args, *states], run.training)
    else:
        output = forwards.run_layer(
            node.class_name, node.config, weights, [*args, *states], run.training, layer_masks
        )
    outs = forwards.as_outputs(output)
    if half is not None:
        outs = [rounded(out, half) for out in outs]
    previous = keyword_masks or masks  # what Keras' compute_mask receives
    return outs, output_masks(node.class_name, node.config, args, previous, outs)


def _split_extras(
    node: LayerNode, call: int, values: dict, masks: list[Mask]
) -> tuple[list[Mask] | None, list[np.ndarray]]:
    """The tensors a call takes by keyword, as (its `mask`, or None; initial states).

    A mask is a mask operation's output (then the propagated mask of the first input) or a
    boolean tensor; the other tensors are initial states, which only recurrent layers take.
    """
    extras = [values[_key(r)] for r in call_refs(node, call)[len(node.calls[call]) :]]
    keyword = [masks[0] if x is PROPAGATED else x for x in extras if _is_mask(x)]
    states = [x for x in extras if not _is_mask(x)]
    traits = traits_of(node.class_name)  # initial states, or masks from tensors only
    if (states and not traits.initial_states) or (extras and traits.tensor_masks_only):
        raise UnsupportedModel(
            f"Layer {node.name!r} ({node.class_name}) is called with tensors passed by keyword "
            "that the reference forward does not take for this class.",
            {"layer": node.name, "class_name": node.class_name},
        )
    return (keyword or None), states


def _is_mask(x) -> bool:
    return x is PROPAGATED or np.asarray(x).dtype == bool


def layer_weights(node: LayerNode, weights: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """The node's weights for its forward: by full name, and by role and last name part."""
    return forwards.named_weights((w.name, w.role, weights[_index(w)]) for w in node.weights)


def standardize_input(node: LayerNode, x: np.ndarray) -> np.ndarray:
    """x in the Input's dtype, with a trailing axis of 1 added or dropped to match its rank
    (Keras' Functional `_standardize_inputs` and `_adjust_input_rank`)."""
    x = np.asarray(x)
    shape = node.config.get("batch_shape")
    if shape is not None and x.ndim == len(shape) + 1 and x.shape[-1] == 1:
        x = x[..., 0]
    elif shape is not None and x.ndim == len(shape) - 1 and shape[-1] == 1:
        x = x[..., None]
    dtype = variable_dtype(node.config)
    if half_compute_dtype(dtype) is not None:  # a float16 or bfloat16 Input, as float32
        return rounded(x.astype(np.float32, copy=False), dtype)
    return x.astype(dtype, copy=False)


def _operation_outputs(graph: ModelGraph, record: Record) -> dict[str, list[list[np.ndarray]]]:
    return {
        node.name: [calls[i] for i in sorted(calls)]
        for node in graph.layers
        if node.is_operation
        for calls in [record.get(node.name, {})]
    }


def _layer_outputs(graph: ModelGraph, record: Record) -> dict[str, list[list[np.ndarray]]]:
    return {
        node.name: [calls[i] for i in sorted(calls)]
        for node in graph.keras_layers()
        if node.class_name != "InputLayer" and not node.is_operation
        for calls in [record.get(node.name, {})]
    }
