"""The Keras 3 `.keras` archive: `config.json`, `metadata.json` and `model.weights.h5` in a zip.

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

import json
import re
import shutil
import tempfile
import zipfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import h5py

from app.errors import InvalidSpec, MalformedModel, UnsupportedFormat
from app.formats.config import parse_model
from app.formats.hdf5 import child_group, hard_children, stored_weight
from app.graph import ModelGraph, StoredWeight

CONFIG_MEMBER = "config.json"
METADATA_MEMBER = "metadata.json"
WEIGHTS_H5 = "model.weights.h5"
WEIGHTS_NPZ = "model.weights.npz"
MAX_JSON_BYTES = 64 << 20
# Keras' own guard (saving_lib._reject_zip_extract_bomb): a member declaring more than 256 MiB
# and more than 100 times what is stored is a decompression bomb.
BOMB_FLOOR_BYTES = 1 << 28
BOMB_MAX_EXPANSION = 100
# tf.keras 2.13 files keep a model's layers under this name instead of `layers`; Keras 3's
# H5IOStore.get falls back to it the same way (its "Fix for 2.13 compatibility").
TF_KERAS_LAYERS = "_layer_checkpoint_dependencies"

READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, KeyError, ValueError,
               RuntimeError, NotImplementedError, UnicodeDecodeError)  # fmt: skip


def read_keras_v3(path: Path, resources: ExitStack) -> tuple[ModelGraph, str | None]:
    """The graph with stored weights attached, and the Keras version that wrote it.

    Files stay open in `resources` (the weights are read lazily); the caller closes it.
    """
    try:
        archive = resources.enter_context(zipfile.ZipFile(path))
        graph = model_from_config(_member_json(archive, CONFIG_MEMBER))
        version = _writer_version(archive)
        weights = _open_weights(archive, resources)
        attach_v3_weights(graph, weights)
    except READ_ERRORS as exc:
        raise MalformedModel(
            "The .keras archive is damaged or incomplete and could not be read."
        ) from exc
    return graph, version


def model_from_config(config: Any) -> ModelGraph:
    """`parse_model`, with a bad config in a file reported as a malformed file."""
    try:
        return parse_model(config)
    except InvalidSpec as exc:
        raise MalformedModel(
            f"The model config in this file is malformed. {exc.message}", exc.details
        ) from exc


def _writer_version(archive: zipfile.ZipFile) -> str | None:
    """metadata.json's `keras_version`; Keras does not need this file to load, nor do we."""
    try:
        metadata = _member_json(archive, METADATA_MEMBER)
    except MalformedModel:
        return None
    version = metadata.get("keras_version") if isinstance(metadata, dict) else None
    return version if isinstance(version, str) else None


def _has(archive: zipfile.ZipFile, name: str) -> bool:
    return name in archive.namelist()


def _member_json(archive: zipfile.ZipFile, name: str) -> Any:
    if not _has(archive, name):
        raise MalformedModel(f"The .keras archive has no {name}.")
    info = archive.getinfo(name)
    if info.file_size > MAX_JSON_BYTES:
        raise MalformedModel(f"The .keras archive's {name} is implausibly large.")
    try:
        return json.loads(archive.read(info).decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise MalformedModel(f"The .keras archive's {name} is not valid JSON.") from exc


def _open_weights(archive: zipfile.ZipFile, resources: ExitStack) -> h5py.File:
    """model.weights.h5, read in place when stored uncompressed (as Keras writes it), else
    decompressed into an anonymous temporary file that disappears when closed."""
    if not _has(archive, WEIGHTS_H5):
        if _has(archive, WEIGHTS_NPZ):
            raise UnsupportedFormat(
                "This .keras archive keeps its weights in NumPy .npz form, which the explainer "
                "does not read; save the model with the default weights format."
            )
        raise MalformedModel(f"The .keras archive has no {WEIGHTS_H5}.")
    info = archive.getinfo(WEIGHTS_H5)
    if info.compress_type == zipfile.ZIP_STORED:
        fileobj = resources.enter_context(archive.open(info))
    else:
        _refuse_bomb(info)
        fileobj = resources.enter_context(tempfile.TemporaryFile())
        with archive.open(info) as member:
            shutil.copyfileobj(member, fileobj)
    return resources.enter_context(h5py.File(fileobj, "r"))


def _refuse_bomb(info: zipfile.ZipInfo) -> None:
    if info.file_size > BOMB_FLOOR_BYTES and info.file_size > BOMB_MAX_EXPANSION * max(
        info.compress_size, 1
    ):
        raise MalformedModel(
            f"The .keras archive's {WEIGHTS_H5} expands to far more than it stores; it is "
            "refused as a decompression bomb."
        )


def attach_v3_weights(graph: ModelGraph, weights: h5py.File) -> None:
    """Give every leaf layer of `graph` (nested ones included) its `stored` list."""
    clear_stored(graph)
    _attach_container(graph, _layers_group(weights), set())


def clear_stored(graph: ModelGraph) -> None:
    """Mark every leaf layer as read from a file that stores nothing for it (yet)."""
    for node in graph.layers:
        if node.inner is not None:
            clear_stored(node.inner)
        else:
            node.stored = []


def _layers_group(group: h5py.Group | None) -> h5py.Group | None:
    if group is None:
        return None
    found = child_group(group, "layers")
    return found if found is not None else child_group(group, TF_KERAS_LAYERS)


def _attach_container(graph: ModelGraph, layers: h5py.Group | None, visited: set[int]) -> None:
    used: dict[str, int] = {}
    for node in graph.keras_layers():
        key = unique_name(to_snake_case(node.class_name), used)
        if id(node) in visited:
            continue
        visited.add(id(node))
        group = child_group(layers, key) if layers is not None else None
        if node.inner is not None:
            _attach_container(node.inner, _layers_group(group), visited)
        else:
            node.stored = datasets_below(group) if group is not None else []


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
