"""Legacy HDF5 model files, as `model.save('x.h5')` wrote them from Keras 1 to Keras 3.

The root holds the `model_config` attribute (JSON), `keras_version` and `backend`; weights sit
in `model_weights` (or the root itself), one group per entry of its `layer_names` attribute,
each listing its arrays in a `weight_names` attribute (paths inside the group). Writers name
the arrays differently (see the corpus README):

    Keras 2.0   conv2d_1/conv2d_1_1/kernel:0         (a `_1` added by TensorFlow's name scope)
    Keras 2.3   bn1/bn1/gamma:0
    Keras 3     conv2d_4/sequential_1/conv2d_4/kernel
    nested      sequential_1/Conv1/kernel:0, sequential_1/bn_Conv1/gamma:0, ...

A nested model's arrays all sit in its top-level group, trainable ones first. Each is given to
the leaf layer its name mentions (exact name, else the name with a `_<n>` suffix removed);
each leaf keeps its arrays in stored order, and the variable name (`gamma:0`) stays in
`StoredWeight.name` for `resolve.bind()` to match by.
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import h5py

from app.errors import MalformedModel
from app.formats.hdf5 import child, child_group, list_attr, stored_weight, text_attr
from app.formats.keras_v3 import clear_stored, model_from_config
from app.formats.model_json import ReadResult
from app.graph import LayerNode, ModelGraph, StoredWeight
from app.intake.hdf5_scan import scan_hdf5
from app.intake.limits import DEFAULT_LIMITS, IntakeLimits
from app.intake.safe_json import load_json

SCOPE_SUFFIX = re.compile(r"^(.*)_\d+$")
READ_ERRORS = (OSError, KeyError, ValueError, TypeError, RuntimeError, UnicodeDecodeError,
               IndexError, OverflowError)  # fmt: skip


def read_legacy_h5(
    path: Path, resources: ExitStack, limits: IntakeLimits = DEFAULT_LIMITS
) -> ReadResult:
    """The graph with stored weights attached, the writer's Keras version and backend, and the
    refusals its config earns. Every object of the file is scanned (`app.intake.hdf5_scan`)
    before any attribute or array is read.

    The file stays open in `resources` (the weights are read lazily); the caller closes it.
    """
    try:
        h5 = resources.enter_context(h5py.File(path, "r"))
        scan_hdf5(h5, limits)
        graph, refusals = model_from_config(_model_config(h5, limits))
        attach_h5_weights(graph, _weights_root(h5))
        version, backend = _writer(h5)
    except READ_ERRORS as exc:
        raise MalformedModel(
            "The HDF5 model file is damaged or incomplete and could not be read."
        ) from exc
    return ReadResult(graph, version, backend, refusals)


def _model_config(h5: h5py.File, limits: IntakeLimits) -> Any:
    """The `model_config` attribute, parsed under the JSON caps. Its sibling `training_config`
    is never read: Keras only reads it to compile, and the explainer never compiles."""
    text = text_attr(h5, "model_config")
    if text is None:
        raise MalformedModel(
            "This HDF5 file has no model config: it holds weights only (model.save_weights()). "
            "Upload the file model.save() writes, or the model's to_json() with it."
        )
    return load_json(
        text,
        what="The model config in this HDF5 file",
        syntax_error=MalformedModel,
        limits=limits,
    )


def _weights_root(h5: h5py.File) -> h5py.Group:
    group = child_group(h5, "model_weights")
    return group if group is not None else h5


def _writer(h5: h5py.File) -> tuple[str | None, str | None]:
    weights = child_group(h5, "model_weights")
    sources = [h5] if weights is None else [h5, weights]
    version = next((v for s in sources if (v := text_attr(s, "keras_version"))), None)
    backend = next((v for s in sources if (v := text_attr(s, "backend"))), None)
    return version, backend


def attach_h5_weights(graph: ModelGraph, root: h5py.Group) -> None:
    """Give every leaf layer its stored arrays; a leaf the file has nothing for gets []."""
    clear_stored(graph)
    seen: set[str] = set()
    for name in list_attr(root, "layer_names"):
        if name in seen:
            continue
        seen.add(name)
        arrays = _layer_arrays(root, name)
        if arrays:
            _distribute(graph, name, arrays)


def _layer_arrays(root: h5py.Group, name: str) -> list[StoredWeight]:
    group = child_group(root, name)
    if group is None:
        raise MalformedModel(f"The file lists layer {name!r} but stores no group for it.")
    arrays = []
    for weight_name in list_attr(group, "weight_names"):
        dataset = child(group, weight_name)
        if not isinstance(dataset, h5py.Dataset):
            raise MalformedModel(
                f"Layer {name!r} lists a weight {weight_name!r} that the file does not hold."
            )
        arrays.append(stored_weight(dataset, weight_name))
    return arrays


def _distribute(graph: ModelGraph, name: str, arrays: list[StoredWeight]) -> None:
    node = _top_level(graph, name)
    if node.inner is None:
        node.stored = arrays
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
    recorded them, else any leaf below by exact name, else by name without a `_<n>` suffix."""
    direct = _follow(graph, scopes)
    if direct is not None:
        return direct
    leaves = _leaves_by_name(graph)
    for scope in scopes:
        if scope in leaves:
            return leaves[scope]
    for scope in scopes:
        match = SCOPE_SUFFIX.match(scope)
        if match and match.group(1) in leaves:
            return leaves[match.group(1)]
    return None


def _follow(graph: ModelGraph, scopes: list[str]) -> LayerNode | None:
    names = {node.name: node for node in graph.layers}
    for i, scope in enumerate(scopes):
        node = names.get(scope)
        if node is None:
            continue
        if node.inner is None:
            return node
        found = _follow(node.inner, scopes[i + 1 :])
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
