"""Where a `.keras` archive's weights file keeps each layer's group: saving_lib's names.

Keras' saving_lib (`_save_state`, `_save_container_state` in keras/src/saving/saving_lib.py)
never names a layer's group by the layer's name: a model's `layers` list is a container whose
items are named by their class in snake_case, numbered in `model.layers` order (`dense`,
`dense_1`, `dense_2`, ...); a layer already saved (shared) is skipped, though it still takes
its number. A nested model recurses: `layers/functional/layers/dense`.

tf.keras 2.12 and 2.13 saved the container `_layer_checkpoint_dependencies` instead (its
name sorts before `layers`, so every layer was saved there first). That is a dict in which a
layer that holds weights is listed twice (`layer_with_weights-0` and `layer-1`, Functional's
`_layer_checkpoint_dependencies` in tf.keras), and saving_lib numbered every entry: the first
Dense with weights is `dense`, the next `dense_2` (its repeat took `dense_1`), a layer without
weights takes one number (`up_sampling2d`, `up_sampling2d_1`). tf.keras 2.14 names them as
Keras 3 does. On Windows, tf.keras 2.13 also joined the path with a backslash: each layer's
group sits at the top, named `_layer_checkpoint_dependencies\\dense_2`.

The file records no writer's numbering, so both are tried, and the one under which more
layers find their group is kept: each finds every group of a file it wrote, and the other
misses some as soon as the two differ.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

import h5py

from app.formats.hdf5 import child_group, hard_children
from app.graph import LayerNode, ModelGraph
from app.safety.hdf5_scan import Walked

LAYERS = "layers"
TF_KERAS_LAYERS = "_layer_checkpoint_dependencies"  # tf.keras 2.12-2.13's container

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


# Classes Keras 3 has under another name (app.check.keras3_copy renames them): Keras 3 looks
# for their groups under its own class's name.
KERAS3_CLASSES = {"SyncBatchNormalization": "BatchNormalization"}


@dataclass(frozen=True)
class Placement:
    """A leaf layer, the group the file keeps it in (None: none found), and the path where
    Keras 3 looks for that group (`layers/functional/layers/dense_1`)."""

    node: LayerNode
    group: h5py.Group | None
    keras3_path: str


class FlatLayers:
    """The layer groups of a Windows-written tf.keras 2.13 file, by the name after the
    backslash: `_layer_checkpoint_dependencies\\dense_2` is `dense_2`."""

    def __init__(self, groups: dict[str, h5py.Group]) -> None:
        self.groups = groups

    def get(self, key: str) -> h5py.Group | None:
        return self.groups.get(key)


Container = h5py.Group | FlatLayers


def place_layers(
    graph: ModelGraph, weights: h5py.File | None, walked: Walked | None = None
) -> list[Placement]:
    """Every leaf layer of `graph` (nested ones included) with its group in `weights`, under
    the numbering that finds the most groups (Keras 3's when they tie); `walked`: the
    groups' members as the scan opened them, asked before h5py (`child_group`)."""
    top = subclass_group(weights) if graph.subclass is not None else weights
    prefix = f"{top.name.strip('/')}/" if top is not None and top is not weights else ""
    layers = layers_group(top, walked)
    best: list[Placement] = []
    for doubled in (False, True) if _is_tf_keras(layers) else (False,):
        found = list(_place(graph, layers, doubled, {}, f"{prefix}{LAYERS}", walked))
        if not best or _found(found) > _found(best):
            best = found
    return best


def misplaced_for_keras3(graph: ModelGraph) -> list[LayerNode]:
    """The leaf layers whose stored group (attached by `place_layers`) sits in tf.keras
    2.12-2.13's container where Keras 3 does not look for it: numbered with gaps (`dense_2`
    for Keras 3's `dense_1`) or backslash-joined. Keras 3 then cannot load the file as it is."""
    misplaced = []
    for placed in _place(graph, None, False, {}, LAYERS):  # Keras 3's paths, without a file
        written = _stored_group(placed.node)
        tf_keras = written is not None and (written.startswith(TF_KERAS_LAYERS) or "\\" in written)
        if tf_keras and not keras3_reads(written, placed.keras3_path):
            misplaced.append(placed.node)
    return misplaced


def keras3_reads(written: str, keras3_path: str) -> bool:
    """Keras 3 reads a layer's group at its own path, or there with `layers` replaced by
    tf.keras' container name (H5IOStore.get, "Fix for 2.13 compatibility")."""
    return written in (keras3_path, keras3_path.replace(LAYERS, TF_KERAS_LAYERS))


def _stored_group(node: LayerNode) -> str | None:
    """The group a layer's stored arrays were found in (`path` ends with their `name`)."""
    for stored in node.stored or []:
        if stored.path.endswith(f"/{stored.name}"):
            return stored.path[: -len(stored.name) - 1]
    return None


def _found(placements: list[Placement]) -> int:
    return sum(p.group is not None for p in placements)


def _is_tf_keras(layers: Container | None) -> bool:
    return isinstance(layers, FlatLayers) or (
        layers is not None and layers.name.rsplit("/", 1)[-1] == TF_KERAS_LAYERS
    )


def _place(
    graph: ModelGraph,
    layers: Container | None,
    doubled: bool,
    seen: dict[int, bool],
    path: str,
    walked: Walked | None = None,
) -> Iterator[Placement]:
    """The placements below one container, in order: a layer's number depends on the layers
    before it (in tf.keras 2.12-2.13, on whether they hold weights). `seen`: the layers
    already placed (shared ones are saved once), and whether they hold weights."""
    written: dict[str, int] = {}  # the writer's next number, per class
    keras3: dict[str, int] = {}  # Keras 3's
    for node in graph.keras_layers():
        base = to_snake_case(python_class_name(node.class_name))
        keras3_class = KERAS3_CLASSES.get(node.class_name, node.class_name)
        keras3_base = to_snake_case(python_class_name(keras3_class))
        key, keras3_key = _numbered(base, written), _numbered(keras3_base, keras3)
        if id(node) not in seen:
            group = _layer_group(layers, key, walked)
            seen[id(node)] = False
            if node.inner is not None:
                inner_path = f"{path}/{keras3_key}/{LAYERS}"
                inner = layers_group(group, walked)
                yield from _place(node.inner, inner, doubled, seen, inner_path, walked)
                seen[id(node)] = any(seen[id(n)] for n in node.inner.keras_layers())
            else:
                yield Placement(node, group, f"{path}/{keras3_key}")
                # only tf.keras' doubled numbering asks (a walk of the group: ResNet50's 177
                # took 17 ms of CPU for nothing in Keras 3's numbering)
                seen[id(node)] = doubled and group is not None and _has_dataset(group)
        # tf.keras listed a layer that holds weights twice (`layer.weights`): two numbers
        written[base] = written.get(base, 0) + (2 if doubled and seen[id(node)] else 1)
        keras3[keras3_base] = keras3.get(keras3_base, 0) + 1


def _numbered(base: str, taken: dict[str, int]) -> str:
    """saving_lib._get_unique_name's `dense`, `dense_1`, `dense_2`, ..."""
    number = taken.get(base, 0)
    return f"{base}_{number}" if number else base


def _has_dataset(group: h5py.Group) -> bool:
    """Whether any array is stored below `group` (visititems stops at the first non-None)."""
    return bool(group.visititems(lambda _, item: isinstance(item, h5py.Dataset) or None))


def subclass_group(weights: h5py.File | None) -> h5py.Group | None:
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
        and layers_group(group) is not None
    ]
    return found[0] if len(found) == 1 else None


def layers_group(group: h5py.Group | None, walked: Walked | None = None) -> Container | None:
    """The container of a model's layers below `group`: `layers`, tf.keras 2.12-2.13's
    `_layer_checkpoint_dependencies`, or its backslash-named groups."""
    if group is None:
        return None
    found = child_group(group, LAYERS, walked)
    if found is None:
        found = child_group(group, TF_KERAS_LAYERS, walked)
    return found if found is not None else flat_layers(group)


def flat_layers(group: h5py.Group) -> FlatLayers | None:
    """The backslash-joined layer groups below `group`, when it holds any."""
    found = {}
    for name in hard_children(group):
        prefix, _, key = name.partition("\\")
        if key and prefix in (LAYERS, TF_KERAS_LAYERS) and "\\" not in key:
            item = child_group(group, name)
            if item is not None:
                found[key] = item
    return FlatLayers(found) if found else None


def _layer_group(
    layers: Container | None, key: str, walked: Walked | None = None
) -> h5py.Group | None:
    if isinstance(layers, FlatLayers):
        return layers.get(key)
    return child_group(layers, key, walked) if layers is not None else None


def python_class_name(class_name: str) -> str:
    """The class Keras instantiates for a config's class name: saving_lib names objects by
    their Python class, and a few public names are aliases (`GroupQueryAttention` is the
    class `GroupedQueryAttention`; `Convolution2D` is `Conv2D`)."""
    return ALIASES.get(class_name, class_name)


@functools.lru_cache(maxsize=256)
def to_snake_case(name: str) -> str:
    """keras.src.utils.naming.to_snake_case: `BatchNormalization` → `batch_normalization`.
    Kept for the few class names of a file (ResNet50 asked it 354 times of 8 names)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
