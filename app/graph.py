"""The framework-neutral IR every reader produces and every analysis consumes.

A `ModelGraph` is a Sequential or Functional model: its layers in config order, each with the
calls made to it (a layer called twice is shared), and nested models as layers that hold an
inner graph. Readers fill in names, configs, connections and the weights stored in the file;
`app.analysis.resolve` then fills in shapes and the weights' roles from the layer registry.

Nothing here knows a file format or imports Keras.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

Shape = tuple[int | None, ...]
ShapeTree = Shape | list["ShapeTree"]

CONTAINER_CLASSES = frozenset({"Sequential", "Functional", "Model"})
OPERATION_PREFIX = "ops."
ITEMSIZE_FALLBACK = {"bfloat16": 2, "float8_e4m3fn": 1, "float8_e5m2": 1}  # not numpy dtypes


class ArraySource(Protocol):
    """Anything that has a shape and a dtype and can be sliced: an h5py Dataset, an ndarray."""

    shape: tuple[int, ...]
    dtype: Any

    def __getitem__(self, key: Any) -> Any: ...


@dataclass(frozen=True)
class TensorRef:
    """One tensor in a graph: output `tensor_index` of call `node_index` of `layer`."""

    layer: str
    node_index: int = 0
    tensor_index: int = 0


@dataclass
class StoredWeight:
    """A weight as found in a file, before the registry gives it a role.

    `name` is the name the writer used (`dense_1/kernel:0`, `vars/0`); `path` is the writer's
    location of the array, for messages; `values` is read lazily.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    values: ArraySource | None = None
    path: str = ""


@dataclass
class WeightRef:
    """A weight of a resolved layer, in Keras vocabulary."""

    name: str  # Keras variable path inside the layer: `kernel`, `cell/kernel`, `forward_layer/...`
    role: str  # `kernel`, `gamma`, `moving_variance`, ...; `weight` when the class is unknown
    shape: tuple[int, ...]
    dtype: str
    trainable: bool
    values: ArraySource | None = None
    stored_name: str | None = None
    index: int | None = None  # position in model.get_weights()

    @property
    def count(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        """Its size in bytes, at its own dtype."""
        return self.count * itemsize(self.dtype)


@dataclass
class LayerNode:
    """One layer: its config, its calls, and (after resolve) its shapes and weights."""

    name: str
    class_name: str
    config: dict[str, Any]
    module: str | None = None
    registered_name: str | None = None
    calls: list[list[TensorRef]] = field(default_factory=list)
    call_kwargs: list[dict[str, Any]] = field(default_factory=list)
    # Tensors a call takes by keyword that are not data inputs (masks, initial states): parents
    # in the graph (they count for ordering, as in Keras), not inputs of the shape functions.
    call_extras: list[list[TensorRef]] = field(default_factory=list)
    # None: no weights file (a spec). On a nested model: the arrays a Keras 3.0-3.2 `.h5`
    # stores for it by position (app.formats.legacy_h5), its layers holding None.
    stored: list[StoredWeight] | None = None
    # A legacy HDF5 file lists this layer but stores no arrays for it (no group, or an empty
    # one): weights its config creates were not saved (a weights section cut short).
    unsaved: bool = False
    inner: ModelGraph | None = None  # for nested Sequential / Functional models
    implicit: bool = False  # the InputLayer Keras adds to a Sequential (not in model.layers)
    # Filled in by app.analysis.resolve:
    known: bool = True
    input_shapes: list[list[ShapeTree]] = field(default_factory=list)
    output_shapes: list[ShapeTree] = field(default_factory=list)
    weights: list[WeightRef] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def trainable_flag(self) -> bool:
        return bool(self.config.get("trainable", True))

    @property
    def is_container(self) -> bool:
        return self.inner is not None

    @property
    def is_operation(self) -> bool:
        """A Keras operation (`x + 3.0`), not a layer: the readers name it `ops.<Class>`."""
        return self.class_name.startswith(OPERATION_PREFIX)


@dataclass
class ModelGraph:
    """A Sequential or Functional model."""

    name: str
    class_name: str  # "Sequential" or "Functional"
    layers: list[LayerNode]
    inputs: list[TensorRef]
    outputs: list[TensorRef]
    config: dict[str, Any] = field(default_factory=dict)
    # A subclassed keras.Model's class when this graph is the one model its config holds
    # (`app.safety.model_config`): explained as far as that config goes, never run by Keras.
    subclass: str | None = None
    # The module the file names for the model's class (tf.keras 2.12+:
    # `keras.src.engine.functional`), which the check's Keras 3 copy may have to rewrite.
    module: str | None = None
    # A spec's own `compile_config`, which Keras would compile from when it reads the spec
    # (`model_from_json`): the check's Keras 3 copy leaves it out (app.check.keras3_copy).
    compile_settings: bool = False
    # What a spec's config came out of (a TensorFlow.js Layers model.json), in a sentence the
    # report's warnings open with (app.safety.spec_wrappers).
    wrapper: str | None = None
    # `keras_layers()`' Functional order, with what it was worked out from (`_order_source`).
    _order: tuple[tuple, list[LayerNode]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def layer(self, name: str) -> LayerNode:
        for node in self.layers:
            if node.name == name:
                return node
        raise KeyError(name)

    def keras_layers(self) -> list[LayerNode]:
        """The layers in the order of Keras 3's `model.layers` (hence of `get_weights()`).

        Sequential: the added layers in order. Functional: Keras' `map_graph` order, by
        decreasing depth from the outputs, ties broken by depth-first traversal order;
        operations (`x + 3.0`) are nodes of the graph but not layers, as in Keras.
        """
        if self.class_name == "Sequential":
            return [node for node in self.layers if not node.implicit]
        source = self._order_source()
        if self._order is None or not _same_source(self._order[0], source):
            self._order = source, [node for node in _map_graph_order(self) if not node.is_operation]
        return list(self._order[1])

    def _order_source(self) -> tuple:
        """What the Functional order is worked out from, as far as a reader ever changes it:
        the layers (a reader builds each node's calls before the graph: app.formats.config),
        the inputs and the outputs. A report walks its graph ~15 times (ResNet50: 0.34 ms of
        CPU each, ~5 ms in all); this costs ~5 µs."""
        return (tuple(self.layers), tuple(self.inputs), tuple(self.outputs))

    def walk(self) -> Iterator[tuple[tuple[str, ...], LayerNode]]:
        """Every layer, nested ones included, in `keras_layers()` order, with its parents."""
        yield from _walk(self, ())

    def all_weights(self) -> Iterator[WeightRef]:
        """Every weight, nested models' included, in `walk()` order (a resolved graph's)."""
        for _, node in self.walk():
            yield from node.weights


def _same_source(kept: tuple, now: tuple) -> bool:
    """The same layer objects (not equal ones: a dataclass compares every field), inputs and
    outputs."""
    (kept_layers, *kept_ends), (layers, *ends) = kept, now
    same_layers = len(kept_layers) == len(layers) and all(map(operator.is_, kept_layers, layers))
    return same_layers and kept_ends == ends


def _walk(
    graph: ModelGraph, parents: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], LayerNode]]:
    for node in graph.keras_layers():
        yield parents, node
        if node.inner is not None:
            yield from _walk(node.inner, (*parents, node.name))


def _map_graph_order(graph: ModelGraph) -> list[LayerNode]:
    """Replicates keras.src.ops.function.map_graph's operation order."""
    by_name = {node.name: node for node in graph.layers}
    finished: set[tuple[str, int]] = set()
    in_progress: set[tuple[str, int]] = set()
    ordered_nodes: list[tuple[str, int]] = []
    first_seen: dict[str, int] = {}

    def enter(ref: TensorRef) -> bool:
        key = (ref.layer, ref.node_index)
        if key in finished or ref.layer not in by_name:
            return False
        if key in in_progress:
            raise ValueError(f"cycle at layer {ref.layer!r}")
        first_seen.setdefault(ref.layer, len(first_seen))
        in_progress.add(key)
        return True

    def leave(ref: TensorRef) -> None:
        key = (ref.layer, ref.node_index)
        finished.add(key)
        in_progress.discard(key)
        ordered_nodes.append(key)

    def visit(ref: TensorRef) -> None:
        _post_order(ref, lambda r: _node_inputs(by_name[r.layer], r.node_index), enter, leave)

    for out in graph.outputs:
        visit(out)

    node_depth: dict[tuple[str, int], int] = {}
    layer_depth: dict[str, int] = {}
    for key in reversed(ordered_nodes):
        depth = max(node_depth.setdefault(key, 0), layer_depth.get(key[0], 0))
        layer_depth[key[0]] = depth
        node_depth[key] = depth
        for parent in _node_inputs(by_name[key[0]], key[1]):
            pkey = (parent.layer, parent.node_index)
            if pkey in finished:
                node_depth[pkey] = max(depth + 1, node_depth.get(pkey, 0))
    for ref in graph.inputs:  # inputs not connected to any output still belong
        if ref.layer in by_name and ref.layer not in layer_depth:
            layer_depth[ref.layer] = 0
            first_seen.setdefault(ref.layer, -1)
    names = sorted(layer_depth, key=lambda n: (-layer_depth[n], first_seen[n]))
    return [by_name[n] for n in names]


K = TypeVar("K")


def _post_order(
    root: K,
    parents: Callable[[K], list[K]],
    enter: Callable[[K], bool],
    leave: Callable[[K], None],
) -> None:
    """Depth first from `root`, each item left after all of its parents: the order of a
    recursive walk, without Python's recursion limit (a chain of 1,200 layers reached it).
    `enter(item)` records an item and says whether to go into it."""
    if not enter(root):
        return
    stack = [(root, iter(parents(root)))]
    while stack:
        item, pending = stack[-1]
        for parent in pending:
            if enter(parent):
                stack.append((parent, iter(parents(parent))))
                break
        else:
            stack.pop()
            leave(item)


def _node_inputs(node: LayerNode, node_index: int) -> list[TensorRef]:
    if node_index >= len(node.calls):
        return []
    extras = node.call_extras[node_index] if node_index < len(node.call_extras) else []
    return [*node.calls[node_index], *extras]


def topological_calls(graph: ModelGraph) -> list[tuple[LayerNode, int]]:
    """Every (layer, call index) reachable from the outputs, inputs before their users."""
    by_name = {node.name: node for node in graph.layers}
    seen: set[tuple[str, int]] = set()
    order: list[tuple[LayerNode, int]] = []

    def enter(key: tuple[str, int]) -> bool:
        if key in seen or key[0] not in by_name:
            return False
        seen.add(key)
        return True

    def parents(key: tuple[str, int]) -> list[tuple[str, int]]:
        return [(p.layer, p.node_index) for p in _node_inputs(by_name[key[0]], key[1])]

    def leave(key: tuple[str, int]) -> None:
        order.append((by_name[key[0]], key[1]))

    def visit(name: str, index: int) -> None:
        _post_order((name, index), parents, enter, leave)

    for ref in [*graph.inputs, *graph.outputs]:
        visit(ref.layer, ref.node_index)
    for node in graph.layers:  # layers not connected to the outputs still get shapes
        for index in range(max(1, len(node.calls))):
            visit(node.name, index)
    return order


# A layer's dtype policy -----------------------------------------------------------------


def dtype_policy(config: dict[str, Any]) -> str | None:
    """A layer config's dtype policy name (`float32`, `mixed_float16`, ...): a string in
    Keras 2 configs, a serialized DTypePolicy in Keras 3's; None when the config gives none."""
    policy = config.get("dtype")
    if isinstance(policy, dict):
        policy = (policy.get("config") or {}).get("name")
    return policy if isinstance(policy, str) else None


def compute_dtype(config: dict[str, Any]) -> str:
    """The dtype a layer computes in: `mixed_float16` computes in float16; float32 by default."""
    policy = dtype_policy(config)
    return "float32" if policy is None else policy.removeprefix("mixed_")


def variable_dtype(config: dict[str, Any]) -> str:
    """The dtype Keras gives a layer's variables: float32 under a mixed policy or none."""
    policy = dtype_policy(config)
    return "float32" if policy is None or policy.startswith("mixed_") else policy


def itemsize(dtype: str) -> int:
    """Bytes per element of `dtype`; 4 for a name numpy does not know."""
    if dtype in ITEMSIZE_FALLBACK:
        return ITEMSIZE_FALLBACK[dtype]
    try:
        return np.dtype(dtype).itemsize
    except TypeError:
        return 4


# A shape as the wire writes it -----------------------------------------------------------


def shape_json(shape: ShapeTree | None) -> list | None:
    """A shape tree as JSON: a tuple becomes a list, a list of shapes a list of lists."""
    if shape is None:
        return None
    if isinstance(shape, tuple):
        return list(shape)
    return [shape_json(s) for s in shape]
