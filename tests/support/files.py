"""Model files for tests: saved as Keras writes them, or edited as another writer had them."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py


def saved(model: Any, path: Path) -> Path:
    """model.save(path); `.h5` writes legacy HDF5, `.keras` the v3 archive."""
    model.save(path)
    return path


def with_edited_config(source: Path, target: Path, edit: Callable[[dict], None]) -> Path:
    """Copy a .keras archive, passing its config.json through ``edit(config)``."""
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as out:
        for name in archive.namelist():
            data = archive.read(name)
            if name == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            out.writestr(name, data)
    return target


def as_keras2_file(model: Any, path: Path, edit: Callable[[dict], None]) -> Path:
    """Save with Keras 3's h5 writer, then edit each layer's config as a Keras 2 writer had it."""
    model.save(path)
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        for layer in config["config"]["layers"]:
            edit(layer)
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = "2.4.0"
    return path
