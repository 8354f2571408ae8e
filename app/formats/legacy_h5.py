"""Legacy HDF5 model files, as `model.save('x.h5')` wrote them from Keras 1 to Keras 3, read from
what the scan found in them (`app.safety.scanned.ScannedHdf5`).

The root holds the `model_config` attribute (JSON), `keras_version` and `backend`; weights sit
in `model_weights` (or the root itself), one group per entry of its `layer_names` attribute,
each listing its arrays in a `weight_names` attribute (paths inside the group): the scan reads
those lists and hands over the arrays per layer. Writers name the arrays differently (see the
corpus README):

    Keras 2.0   conv2d_1/conv2d_1_1/kernel:0         (a `_1` added by TensorFlow's name scope)
    Keras 2.3   bn1/bn1/gamma:0
    Keras 3     conv2d_4/sequential_1/conv2d_4/kernel
    nested      sequential_1/Conv1/kernel:0, sequential_1/bn_Conv1/gamma:0, ...

A nested model's arrays all sit in its top-level group, trainable ones first. Each is given to
the leaf layer its name mentions (exact name, else the name with a `_<n>` suffix removed);
each leaf keeps its arrays in stored order, and the variable name (`gamma:0`) stays in
`StoredWeight.name` for `resolve.bind()` to match by. Keras 3.0-3.2 named a nested model's
arrays by variable name alone (`inner/kernel`, `inner/gamma`: `weight.name`, not yet
`weight.path`), so no name says whose they are; Keras loads them by position, as the nested
model's `trainable_weights + non_trainable_weights`. The nested model then keeps them
itself (`LayerNode.stored` of the container) and `resolve` binds them so, once the registry
has said which weights each of its layers creates.
"""

from __future__ import annotations

import re

from app.errors import MalformedModel
from app.formats.config import graph_from_config
from app.formats.hdf5 import stored_weight
from app.formats.keras_v3 import clear_stored
from app.formats.loaded import LoadedModel
from app.graph import LayerNode, ModelGraph, StoredWeight
from app.safety.legacy_h5 import DAMAGED_HDF5, HDF5_ERRORS
from app.safety.scanned import FileBytes, ScannedHdf5, StoredLayer

SCOPE_SUFFIX = re.compile(r"^(.*)_\d+$")


def read_legacy_h5(scanned: ScannedHdf5) -> LoadedModel:
    """The graph of a scanned legacy HDF5 file with its stored weights attached, the writer's
    Keras version and backend, and the refusals its config earns. The file stays open (its
    arrays are read lazily): the model takes over the scan's `resources`."""
    try:
        graph = graph_from_config(scanned.config.model)
        attach_h5_weights(graph, scanned.layers, scanned.image)
    except HDF5_ERRORS as exc:
        raise MalformedModel(DAMAGED_HDF5) from exc
    return LoadedModel(
        graph=graph,
        format="legacy_h5",
        keras_version=scanned.keras_version,
        backend=scanned.backend,
        refusals=scanned.config.refusals,
        _resources=scanned.resources,
    )


def attach_h5_weights(
    graph: ModelGraph, layers: list[StoredLayer], image: FileBytes | None = None
) -> None:
    """Give every leaf layer its stored arrays; a leaf the file has nothing for gets [].
    `image`: the file's bytes, which contiguous weights are read from (app.formats.direct)."""
    clear_stored(graph)
    for layer in layers:
        arrays = [stored_weight(dataset, name, image) for name, dataset in layer.arrays]
        if arrays:
            _distribute(graph, layer.name, arrays)
        else:
            _mark_unsaved(graph, layer.name)


def _mark_unsaved(graph: ModelGraph, name: str) -> None:
    """A layer the file lists with no arrays: a weightless one, or one whose weights were not
    saved (resolve tells them apart by the weights its config creates)."""
    try:
        node = graph.layer(name)
    except KeyError:
        return
    for _, leaf in node.inner.walk() if node.inner is not None else [((), node)]:
        leaf.unsaved = True


def _distribute(graph: ModelGraph, name: str, arrays: list[StoredWeight]) -> None:
    node = _top_level(graph, name)
    if node.inner is None:
        node.stored = arrays
        return
    if not any(_scopes(stored.name) for stored in arrays):
        node.stored = arrays  # Keras 3.0-3.2: bound by position (module docstring)
        _unset_stored(node.inner)
        return
    for stored in arrays:
        leaf = find_leaf(node.inner, _scopes(stored.name))
        if leaf is None:
            raise MalformedModel(
                f"The weight {stored.name!r} stored with nested model {name!r} names none of "
                "its layers."
            )
        assert leaf.stored is not None
        leaf.stored.append(stored)


def _unset_stored(graph: ModelGraph) -> None:
    """Leave a nested model's layers without arrays of their own: the model holds them."""
    for node in graph.layers:
        if node.inner is not None:
            _unset_stored(node.inner)
        else:
            node.stored = None


def _top_level(graph: ModelGraph, name: str) -> LayerNode:
    try:
        return graph.layer(name)
    except KeyError:
        raise MalformedModel(
            f"The file stores weights for a layer {name!r} that its model config does not define."
        ) from None


def _scopes(weight_name: str) -> list[str]:
    """The name scopes of a weight name: `a/b/kernel:0` → [`a`, `b`]."""
    return [part for part in weight_name.split("/")[:-1] if part]


def find_leaf(graph: ModelGraph, scopes: list[str]) -> LayerNode | None:
    """The leaf layer a weight's scopes name: following nested models' names where the writer
    recorded them, else any leaf below by exact name, else by name without a `_<n>` suffix.

    A layer name may itself hold `/` (tf.keras ports: `layer1/conv/bn`), so each scope is tried
    joined with the scopes after it, longest first: `block/dense/kernel:0` is the kernel of a
    layer `block/dense` before it is one of a layer `block` or `dense`. Never by position."""
    direct = _follow(graph, scopes)
    if direct is not None:
        return direct
    leaves = _leaves_by_name(graph)
    for name in _joined(scopes):
        if name in leaves:
            return leaves[name]
    for name in _joined(scopes):
        match = SCOPE_SUFFIX.match(name)
        if match and match.group(1) in leaves:
            return leaves[match.group(1)]
    return None


def _joined(scopes: list[str]):
    """Each scope joined with those after it, longest first: [a, b] → a/b, a, b."""
    for start in range(len(scopes)):
        for end in range(len(scopes), start, -1):
            yield "/".join(scopes[start:end])


def _follow(graph: ModelGraph, scopes: list[str]) -> LayerNode | None:
    names = {node.name: node for node in graph.layers}
    for start in range(len(scopes)):
        for end in range(len(scopes), start, -1):
            node = names.get("/".join(scopes[start:end]))
            if node is None:
                continue
            if node.inner is None:
                return node
            found = _follow(node.inner, scopes[end:])
            if found is not None:
                return found
    return None


def _leaves_by_name(graph: ModelGraph) -> dict[str, LayerNode]:
    leaves: dict[str, LayerNode] = {}
    for node in graph.layers:
        if node.inner is not None:
            for name, leaf in _leaves_by_name(node.inner).items():
                leaves.setdefault(name, leaf)
        else:
            leaves.setdefault(node.name, node)
    return leaves
