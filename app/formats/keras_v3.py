"""The Keras 3 `.keras` archive (`config.json`, `metadata.json` and `model.weights.h5` in a zip),
read from what the scan found in it (`app.safety.scanned.ScannedArchive`).

Each leaf layer's group is found where saving_lib put it (`app.formats.v3_layout`); its own
variables are at `<group>/vars/<i>` and its children's at `<group>/<attribute>/...`. Every
dataset below a leaf layer's group is attached to that layer, named relative to it (`vars/0`,
`cell/vars/1`, `forward_layer/cell/vars/0`): the keys `resolve.bind()` matches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import h5py

from app.errors import MalformedModel
from app.formats.config import graph_from_config
from app.formats.hdf5 import hard_children, is_dataset, stored_weight, walked_members
from app.formats.loaded import LoadedModel
from app.formats.v3_layout import place_layers
from app.graph import ModelGraph, StoredWeight
from app.safety.hdf5_scan import DatasetFacts, Walked
from app.safety.keras_v3 import ARCHIVE_ERRORS, DAMAGED_ARCHIVE
from app.safety.scanned import FileBytes, ScannedArchive


def read_keras_v3(scanned: ScannedArchive) -> LoadedModel:
    """The graph of a scanned `.keras` archive with its stored weights attached, the Keras
    version that wrote it, and its refusals. The weights file stays open (its arrays are read
    lazily): the model takes over the scan's `resources`."""
    try:
        graph = graph_from_config(scanned.config.model)
        attach_v3_weights(graph, scanned.weights, scanned.image, scanned.walked)
    except ARCHIVE_ERRORS as exc:
        raise MalformedModel(DAMAGED_ARCHIVE) from exc
    return LoadedModel(
        graph=graph,
        format="keras_v3",
        keras_version=scanned.keras_version,
        refusals=scanned.config.refusals,
        _resources=scanned.resources,
        _opened=scanned.walked,  # let go with the file, not here (~4.5 ms for ResNet50)
    )


def attach_v3_weights(
    graph: ModelGraph,
    weights: h5py.File | None,
    image: FileBytes | None = None,
    walked: Walked | None = None,
) -> None:
    """Give every leaf layer of `graph` (nested ones included) its `stored` list; `image`:
    the weights file's bytes, which contiguous weights are read from (`app.formats.direct`);
    `walked`: the groups' members as the scan opened them."""
    clear_stored(graph)
    for placed in place_layers(graph, weights, walked):
        group = placed.group
        placed.node.stored = [] if group is None else datasets_below(group, "", image, walked)


def clear_stored(graph: ModelGraph) -> None:
    """Mark every leaf layer as read from a file that stores nothing for it (yet)."""
    for node in graph.layers:
        if node.inner is not None:
            clear_stored(node.inner)
        else:
            node.stored = []


def datasets_below(
    group: h5py.Group,
    prefix: str = "",
    image: FileBytes | None = None,
    walked: Walked | None = None,
) -> list[StoredWeight]:
    """Every dataset below `group` in saving_lib's visiting order: the object's own `vars`
    by index, then its children by attribute name (private `_x` ones last)."""
    found: list[StoredWeight] = []
    members = _members(group, walked)
    own = members.get("vars")
    if isinstance(own, h5py.Group):
        own_members = _members(own, walked)
        for index in sorted(own_members, key=_index_key):
            item = own_members[index]
            if is_dataset(item):
                name = f"{prefix}vars/{index}"
                found.append(stored_weight(item, name, image, _facts(walked, item)))
    for name in sorted((n for n in members if n != "vars"), key=_attribute_key):
        item = members[name]
        if isinstance(item, h5py.Group):
            found.extend(datasets_below(item, f"{prefix}{name}/", image, walked))
        elif is_dataset(item):
            found.append(stored_weight(item, f"{prefix}{name}", image, _facts(walked, item)))
    return found


def _members(group: h5py.Group, walked: Walked | None) -> Mapping[str, Any]:
    """`group`'s members by name: as the scan opened them, when it walked this group by this
    path; else asked of h5py (hard links only)."""
    known = walked_members(group, walked)
    if known is None:
        known = {name: group[name] for name in hard_children(group)}
    return known


def _facts(walked: Walked | None, dataset: h5py.Dataset) -> DatasetFacts | None:
    """What the scan asked of `dataset`, when it kept it."""
    return walked.facts.get(id(dataset)) if walked is not None else None


def _index_key(name: str) -> tuple[int, int | str]:
    return (0, int(name)) if name.isdigit() else (1, name)


def _attribute_key(name: str) -> str:
    """saving_lib._name_key: private attributes are visited last."""
    return f"~{name}" if name.startswith("_") else name
