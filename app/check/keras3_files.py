"""The Keras 3 copy of a file (app.check.keras3_copy's rules applied), written by our own code:
the `model_config` attribute of a legacy HDF5 file, or `config.json` of a `.keras` archive
(with the weights file's layer groups where Keras 3 looks for them); weights and everything
else are copied as they are."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import h5py

from app.check.keras3_changes import Rewrite
from app.check.keras3_copy import sanitize
from app.errors import MalformedModel
from app.formats.config import parse_model
from app.formats.v3_layout import (
    KERAS3_CLASSES,
    LAYERS,
    TF_KERAS_LAYERS,
    Placement,
    keras3_reads,
    misplaced_for_keras3,
    place_layers,
)
from app.graph import ModelGraph
from app.safety.hdf5_attrs import text_attr
from app.safety.safe_json import load_json
from app.safety.spec_wrappers import model_config_of

CONFIG_MEMBER = "config.json"
WEIGHTS_MEMBER = "model.weights.h5"
COPY_CHUNK = 1 << 20


def misplaced_weights(graph: ModelGraph) -> list[Rewrite]:
    """The layers of a read `.keras` graph whose weights tf.keras 2.12-2.13 kept where Keras 3
    does not look (app.formats.v3_layout): the copy moves them (`_keras3_weights`), even when
    its config needs no change."""
    return [
        Rewrite(
            node.name,
            node.class_name,
            "weights",
            "moved to where Keras 3 looks for them (tf.keras 2.12-2.13 numbered its layers' "
            "weight groups otherwise)",
        )
        for node in misplaced_for_keras3(graph)
    ]


def rewrite_legacy_h5(source: Path, target: Path, model_config: Any) -> None:
    """A copy of the HDF5 file with `model_config` replaced."""
    shutil.copyfile(source, target)
    with h5py.File(target, "r+") as h5:
        h5.attrs["model_config"] = json.dumps(model_config)


def rewrite_keras_v3(source: Path, target: Path, model_config: Any, written: Any) -> None:
    """A copy of the .keras archive with `config.json` replaced by `model_config` and the
    weights file's layer groups where Keras 3 looks for them (found by the config as
    `written`); other members as they are."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename == CONFIG_MEMBER:
                new.writestr(info, json.dumps(model_config))
                continue
            if info.filename == WEIGHTS_MEMBER:
                new.writestr(info, _keras3_weights(old.read(info), written))
                continue
            with old.open(info) as src, new.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, COPY_CHUNK)


def _keras3_weights(data: bytes, model_config: Any) -> bytes:
    """tf.keras 2.12-2.13 numbered same-class layers with gaps (`dense`, `dense_2`; on
    Windows in backslash-joined group names), where Keras 3 looks for `dense_1`, and Keras 3
    names a renamed class's groups by its own name (SyncBatchNormalization's by
    BatchNormalization's; app.formats.v3_layout): the same groups at Keras 3's paths. A
    weights file Keras 3 reads as written (and a subclassed model's, whose top group Keras 3
    names) is kept as it is."""
    with h5py.File(io.BytesIO(data), "r") as old:
        tf_keras = any(name == TF_KERAS_LAYERS or "\\" in name for name in old)
        if not tf_keras and not _names_renamed_class(model_config):
            return data  # Keras 3 and tf.keras >= 2.14 number as Keras 3 reads
        graph = parse_model(model_config)
        placed = [p for p in place_layers(graph, old) if p.group is not None]
        if graph.subclass is not None or all(_where_keras3_looks(p) for p in placed):
            return data
        buffer = io.BytesIO()
        with h5py.File(buffer, "w") as new:
            for name in old:
                if name not in (LAYERS, TF_KERAS_LAYERS) and "\\" not in name:
                    old.copy(old[name], new, name=name)
            for p in placed:
                parent, _, name = p.keras3_path.rpartition("/")
                old.copy(p.group, new.require_group(parent), name=name)
        return buffer.getvalue()


def _names_renamed_class(node: Any) -> bool:
    """Whether a config holds a layer of a class Keras 3 names otherwise (KERAS3_CLASSES)."""
    if isinstance(node, dict):
        if node.get("class_name") in KERAS3_CLASSES:
            return True
        return any(_names_renamed_class(value) for value in node.values())
    if isinstance(node, list):
        return any(_names_renamed_class(value) for value in node)
    return False


def _where_keras3_looks(placed: Placement) -> bool:
    return keras3_reads(placed.group.name.strip("/"), placed.keras3_path)


def read_model_config(path: Path, fmt: str) -> Any:
    """The model config a file holds (the file already passed the safety scan)."""
    if fmt == "keras_v3":
        with zipfile.ZipFile(path) as archive:
            text = archive.read(CONFIG_MEMBER)
    elif fmt == "spec_json":
        text = path.read_bytes()
        return model_config_of(load_json(text, what="The spec", syntax_error=MalformedModel))
    else:
        with h5py.File(path, "r") as h5:
            text = text_attr(h5, "model_config") or "null"
    return load_json(text, what="The model config", syntax_error=MalformedModel)


def write_keras3_copy(path: Path, fmt: str, target: Path) -> None:
    """Write to `target` the file with the refused keys at their default taken out. What
    to take out, and whether anything blocks it, the check's plan already says (`sanitize`
    on the same config, in the process that read the file first)."""
    written = read_model_config(path, fmt)
    config, _, _ = sanitize(written, spec=fmt == "spec_json")
    if fmt == "spec_json":
        target.write_text(json.dumps(config))
        return
    if fmt == "keras_v3":
        rewrite_keras_v3(path, target, config, written)
    else:
        rewrite_legacy_h5(path, target, config)
