"""The Keras 3 `.keras` archive (`config.json`, `metadata.json` and `model.weights.h5` in a zip),
read from what the scan found in it (`app.safety.scanned.ScannedArchive`).

Weights are found where Keras' saving_lib puts them (`_save_state`, `_walk_saveable`,
`_save_container_state` in keras/src/saving/saving_lib.py): a model's `layers` list is a
container whose items are named by their class in snake_case, deduplicated with `_1`, `_2`, ...
in `model.layers` order (never by layer name), so a Sequential's third Dense is at
`layers/dense_2` whatever its name. Each object's own variables are at `<path>/vars/<i>` and
its children at `<path>/<attribute>`; a nested model recurses: `layers/functional/layers/dense`.
A layer already saved (shared) is skipped, though its name still takes a number.

Every dataset below a leaf layer's group is attached to that layer, named relative to it
(`vars/0`, `cell/vars/1`, `forward_layer/cell/vars/0`): the keys `resolve.bind()` matches.
"""

from __future__ import annotations

import re

import h5py

from app.errors import MalformedModel
from app.formats.config import graph_from_config
from app.formats.hdf5 import child_group, hard_children, stored_weight
from app.formats.loaded import LoadedModel
from app.graph import ModelGraph, StoredWeight
from app.safety.keras_v3 import ARCHIVE_ERRORS, DAMAGED_ARCHIVE
from app.safety.scanned import ScannedArchive

# tf.keras 2.13 files keep a model's layers under this name instead of `layers`; Keras 3's
# H5IOStore.get falls back to it the same way (its "Fix for 2.13 compatibility").
TF_KERAS_LAYERS = "_layer_checkpoint_dependencies"

# keras.layers names that are aliases of a class with another __name__ (Keras 3.15).
ALIASES = {
    "GroupQueryAttention": "GroupedQueryAttention",
    **{f"Convolution{d}D": f"Conv{d}D" for d in (1, 2, 3)},
    **{f"Convolution{d}DTranspose": f"Conv{d}DTranspose" for d in (1, 2, 3)},
    **{f"SeparableConvolution{d}D": f"SeparableConv{d}D" for d in (1, 2)},
    **{f"AvgPool{d}D": f"AveragePooling{d}D" for d in (1, 2, 3)},
    **{f"MaxPool{d}D": f"MaxPooling{d}D" for d in (1, 2, 3)},
    **{f"GlobalAvgPool{d}D": f"GlobalAveragePooling{d}D" for d in (1, 2, 3)},
    **{f"GlobalMaxPool{d}D": f"GlobalMaxPooling{d}D" for d in (1, 2, 3)},
}


def read_keras_v3(scanned: ScannedArchive) -> LoadedModel:
    """The graph of a scanned `.keras` archive with its stored weights attached, the Keras
    version that wrote it, and its refusals. The weights file stays open (its arrays are read
    lazily): the model takes over the scan's `resources`."""
    try:
        graph = graph_from_config(scanned.config.model)
        attach_v3_weights(graph, scanned.weights)
    except ARCHIVE_ERRORS as exc:
        raise MalformedModel(DAMAGED_ARCHIVE) from exc
    return LoadedModel(
        graph=graph,
        format="keras_v3",
        keras_version=scanned.keras_version,
        refusals=scanned.config.refusals,
        _resources=scanned.resources,
    )


def attach_v3_weights(graph: ModelGraph, weights: h5py.File) -> None:
    """Give every leaf layer of `graph` (nested ones included) its `stored` list."""
    clear_stored(graph)
    top = _subclass_group(weights) if graph.subclass is not None else weights
    _attach_container(graph, _layers_group(top), set())


def _subclass_group(weights: h5py.File | None) -> h5py.Group | None:
    """Where a subclassed model keeps the model its config holds: under the attribute its
    class stored it at (`embedding/layers/...`), which the config does not name. Found as the
    one top-level group that holds layers; None (nothing stored) when it is not one."""
    if weights is None:
        return None
    found = [
        group
        for name in hard_children(weights)
        if name != "optimizer"
        and (group := child_group(weights, name)) is not None
        and _layers_group(group) is not None
    ]
    return found[0] if len(found) == 1 else None


def clear_stored(graph: ModelGraph) -> None:
    """Mark every leaf layer as read from a file that stores nothing for it (yet)."""
    for node in graph.layers:
        if node.inner is not None:
            clear_stored(node.inner)
        else:
            node.stored = []


def _layers_group(group: h5py.Group | None) -> h5py.Group | WindowsLayers | None:
    if group is None:
        return None
    found = child_group(group, "layers")
    if found is None:
        found = child_group(group, TF_KERAS_LAYERS)
    return found if found is not None else windows_layers(group)


class WindowsLayers:
    """The layers of a `.keras` archive tf.keras 2.13 wrote on Windows: each layer's group
    sits at the top, its path joined with backslashes (`_layer_checkpoint_dependencies\\dense_2`),
    and same-class layers are numbered with gaps (`dense`, `dense_2`, `dense_4` for the
    first three Dense). A class's n-th layer is the group with its n-th smallest number."""

    def __init__(self, groups: dict[str, h5py.Group]) -> None:
        by_base: dict[str, list[tuple[int, str]]] = {}
        for name in groups:
            base, number = _numbered(name)
            by_base.setdefault(base, []).append((number, name))
        self.groups = groups
        self.ordered = {base: [n for _, n in sorted(found)] for base, found in by_base.items()}

    def get(self, key: str) -> h5py.Group | None:
        base, number = _numbered(key)  # saving_lib's own name: dense, dense_1, dense_2, ...
        names = self.ordered.get(base, [])
        return self.groups[names[number]] if number < len(names) else None


def windows_layers(group: h5py.Group) -> WindowsLayers | None:
    """The backslash-joined layer groups below `group`, when it holds any."""
    found = {}
    for name in hard_children(group):
        prefix, _, key = name.partition("\\")
        if key and prefix in ("layers", TF_KERAS_LAYERS) and "\\" not in key:
            item = child_group(group, name)
            if item is not None:
                found[key] = item
    return WindowsLayers(found) if found else None


def _numbered(name: str) -> tuple[str, int]:
    found = re.fullmatch(r"(.*)_(\d+)", name)
    return (found[1], int(found[2])) if found else (name, 0)


def _attach_container(
    graph: ModelGraph, layers: h5py.Group | WindowsLayers | None, visited: set[int]
) -> None:
    used: dict[str, int] = {}
    for node in graph.keras_layers():
        key = unique_name(to_snake_case(python_class_name(node.class_name)), used)
        if id(node) in visited:
            continue
        visited.add(id(node))
        group = _layer_group(layers, key)
        if node.inner is not None:
            _attach_container(node.inner, _layers_group(group), visited)
        else:
            node.stored = datasets_below(group) if group is not None else []


def _layer_group(layers: h5py.Group | WindowsLayers | None, key: str) -> h5py.Group | None:
    if isinstance(layers, WindowsLayers):
        return layers.get(key)
    return child_group(layers, key) if layers is not None else None


def datasets_below(group: h5py.Group, prefix: str = "") -> list[StoredWeight]:
    """Every dataset below `group` in saving_lib's visiting order: the object's own `vars`
    by index, then its children by attribute name (private `_x` ones last)."""
    found: list[StoredWeight] = []
    names = hard_children(group)
    own = child_group(group, "vars") if "vars" in names else None
    if own is not None:
        for index in sorted(hard_children(own), key=_index_key):
            item = own[index]
            if isinstance(item, h5py.Dataset):
                found.append(stored_weight(item, f"{prefix}vars/{index}"))
    for name in sorted((n for n in names if n != "vars"), key=_attribute_key):
        item = group[name]
        if isinstance(item, h5py.Group):
            found.extend(datasets_below(item, f"{prefix}{name}/"))
        elif isinstance(item, h5py.Dataset):
            found.append(stored_weight(item, f"{prefix}{name}"))
    return found


def python_class_name(class_name: str) -> str:
    """The class Keras instantiates for a config's class name: saving_lib names objects by
    their Python class, and a few public names are aliases (`GroupQueryAttention` is the
    class `GroupedQueryAttention`; `Convolution2D` is `Conv2D`)."""
    return ALIASES.get(class_name, class_name)


def unique_name(name: str, used: dict[str, int]) -> str:
    """saving_lib._get_unique_name: `dense`, `dense_1`, `dense_2`, ..."""
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def to_snake_case(name: str) -> str:
    """keras.src.utils.naming.to_snake_case: `BatchNormalization` → `batch_normalization`."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _index_key(name: str) -> tuple[int, int | str]:
    return (0, int(name)) if name.isdigit() else (1, name)


def _attribute_key(name: str) -> str:
    """saving_lib._name_key: private attributes are visited last."""
    return f"~{name}" if name.startswith("_") else name
