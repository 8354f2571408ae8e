"""Keras 2 files that Keras 3 refuses only for a config key that holds its default value.

Keras 2 wrote `groups: 1` into DepthwiseConv2D configs and `time_major: false` into RNN
configs; Keras 3 refuses both keys. With the default value the key changes nothing, so the
check runs on a copy of the file whose config leaves it out, and the report says so. A key
with another value is a real difference: the check is then `unsupported`.

The copy is written by our own code: the `model_config` attribute of a legacy HDF5 file, or
`config.json` of a `.keras` archive; weights and everything else are copied as they are.
"""

from __future__ import annotations

import copy
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py

from app.errors import MalformedModel
from app.layers.registry import REGISTRY
from app.safety.hdf5_attrs import text_attr
from app.safety.safe_json import load_json

REFUSED_DEFAULTS: dict[str, dict[str, Any]] = {  # the registry's trait `keras2_defaults`
    name: dict(entry.traits.keras2_defaults)
    for name, entry in REGISTRY.items()
    if entry.traits.keras2_defaults
}
CONFIG_MEMBER = "config.json"
COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class Removal:
    layer: str
    class_name: str
    key: str
    value: Any

    def sentence(self) -> str:
        return f"{self.layer} ({self.class_name}): {self.key}={json.dumps(self.value)}"


@dataclass(frozen=True)
class Blocker(Removal):
    """A refused key that does not hold its default: the model means something Keras 3
    cannot express."""


def sanitize(model_config: Any) -> tuple[Any, list[Removal], list[Blocker]]:
    """A copy of `model_config` without refused keys at their default, what was removed, and
    the refused keys that hold other values."""
    config = copy.deepcopy(model_config)
    removed: list[Removal] = []
    blockers: list[Blocker] = []
    for entry in _layer_entries(config):
        _strip(entry, removed, blockers)
    return config, removed, blockers


def _layer_entries(node: Any):
    """Every `{"class_name", "config"}` object in a config, at any depth."""
    if isinstance(node, dict):
        if isinstance(node.get("class_name"), str) and isinstance(node.get("config"), dict):
            yield node
        for value in node.values():
            yield from _layer_entries(value)
    elif isinstance(node, list):
        for value in node:
            yield from _layer_entries(value)


def _strip(entry: dict, removed: list[Removal], blockers: list[Blocker]) -> None:
    class_name, config = entry["class_name"], entry["config"]
    for key, default in REFUSED_DEFAULTS.get(class_name, {}).items():
        if key not in config:
            continue
        name = str(config.get("name", "?"))
        if config[key] == default:
            removed.append(Removal(name, class_name, key, config.pop(key)))
        else:
            blockers.append(Blocker(name, class_name, key, config[key]))


def rewrite_legacy_h5(source: Path, target: Path, model_config: Any) -> None:
    """A copy of the HDF5 file with `model_config` replaced."""
    shutil.copyfile(source, target)
    with h5py.File(target, "r+") as h5:
        h5.attrs["model_config"] = json.dumps(model_config)


def rewrite_keras_v3(source: Path, target: Path, model_config: Any) -> None:
    """A copy of the .keras archive with `config.json` replaced, other members as they are."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename == CONFIG_MEMBER:
                new.writestr(info, json.dumps(model_config))
                continue
            with old.open(info) as src, new.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, COPY_CHUNK)


def read_model_config(path: Path, fmt: str) -> Any:
    """The model config a file holds (the file already passed the safety scan)."""
    if fmt == "keras_v3":
        with zipfile.ZipFile(path) as archive:
            text = archive.read(CONFIG_MEMBER)
    else:
        with h5py.File(path, "r") as h5:
            text = text_attr(h5, "model_config") or "null"
    return load_json(text, what="The model config", syntax_error=MalformedModel)


def write_keras3_copy(path: Path, fmt: str, target: Path) -> None:
    """Write to `target` the file with the refused keys at their default taken out. What
    to take out, and whether anything blocks it, the check's plan already says (`sanitize`
    on the same config, in the process that read the file first)."""
    config, _, _ = sanitize(read_model_config(path, fmt))
    rewrite = rewrite_keras_v3 if fmt == "keras_v3" else rewrite_legacy_h5
    rewrite(path, target, config)
