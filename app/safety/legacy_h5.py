"""The scan of a legacy HDF5 model file: every object walked (`hdf5_scan`) before any attribute
or array is read, then its `model_config` attribute parsed under the JSON caps and scanned, and
the arrays its `layer_names` and `weight_names` attributes list found.

Its `training_config` is never read: Keras only reads it to compile, and the explainer never
compiles. A library's exception while reading becomes `MalformedModel(DAMAGED_HDF5)`, here and
in the reader (`app.formats.legacy_h5`).
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import h5py

from app.errors import MalformedModel
from app.safety.hdf5_attrs import list_attr, text_attr
from app.safety.hdf5_scan import scan_hdf5
from app.safety.limits import ReadLimits
from app.safety.safe_json import load_json
from app.safety.scanned import (
    FileBytes,
    ScannedHdf5,
    ScannedWeights,
    StoredLayer,
    file_config,
    translated,
)

HDF5_ERRORS = (OSError, KeyError, ValueError, TypeError, RuntimeError, UnicodeDecodeError,
               IndexError, OverflowError)  # fmt: skip
DAMAGED_HDF5 = "The HDF5 model file is damaged or incomplete and could not be read."


def scan_legacy_h5(path: Path, resources: ExitStack, limits: ReadLimits) -> ScannedHdf5:
    """The file at `path`, walked, opened in `resources`: its config, arrays and writer."""
    with translated(HDF5_ERRORS, DAMAGED_HDF5):
        h5 = resources.enter_context(h5py.File(path, "r"))
        scan_hdf5(h5, limits)
        config = file_config(_model_config(h5, limits))
        layers = _stored_layers(_weights_root(h5))
        version, backend = _writer(h5)
        image = _image(path, resources)
    return ScannedHdf5(config, layers, version, backend, resources, image)


def scan_weights_h5(path: Path, resources: ExitStack, limits: ReadLimits) -> ScannedWeights:
    """A weights-only file (`model.save_weights('x.h5')`, Keras 1 to tf.keras 2), walked
    like a model file, opened in `resources`: its layers' arrays and writer. Its layers are
    matched to a spec's by name, as a model file's are to its own config."""
    with translated(HDF5_ERRORS, DAMAGED_HDF5):
        h5 = resources.enter_context(h5py.File(path, "r"))
        scan_hdf5(h5, limits)
        root = _weights_root(h5)
        if not list_attr(root, "layer_names"):
            raise MalformedModel(
                "This HDF5 file lists no layers' weights (no `layer_names`): it is not what "
                "model.save_weights() writes in the HDF5 format."
            )
        layers = _stored_layers(root)
        version, backend = _writer(h5)
    return ScannedWeights(layers, version, backend)


def _image(path: Path, resources: ExitStack) -> FileBytes:
    """The file's bytes, for the readers' direct reads of contiguous weights."""
    fh = resources.enter_context(Path(path).open("rb"))
    return FileBytes(fh, 0, os.fstat(fh.fileno()).st_size)


def _model_config(h5: h5py.File, limits: ReadLimits) -> Any:
    """The `model_config` attribute, parsed under the JSON caps."""
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
    group = _member(h5, "model_weights")
    return group if isinstance(group, h5py.Group) else h5


def _stored_layers(root: h5py.Group) -> list[StoredLayer]:
    layers: list[StoredLayer] = []
    seen: set[str] = set()
    for name in list_attr(root, "layer_names"):
        if name not in seen:
            seen.add(name)
            layers.append(StoredLayer(name, _layer_arrays(root, name)))
    return layers


def _layer_arrays(root: h5py.Group, name: str) -> list[tuple[str, h5py.Dataset]]:
    group = _member(root, name)
    if not isinstance(group, h5py.Group):
        # A weights section cut short (tf.keras 2.10 wrote such a file): the layer's weights
        # are then counted from its config, without values (app.analysis.resolve).
        return []
    arrays = []
    for weight_name in list_attr(group, "weight_names"):
        dataset = _member(group, weight_name)
        if not isinstance(dataset, h5py.Dataset):
            raise MalformedModel(
                f"Layer {name!r} lists a weight {weight_name!r} that the file does not hold."
            )
        arrays.append((weight_name, dataset))
    return arrays


def _member(group: h5py.Group, path: str) -> Any:
    """The object at `path` below `group` (empty parts ignored), None when absent. Every link
    is a hard one: the walk refused the file otherwise."""
    node: Any = group
    for part in (p for p in path.split("/") if p):
        if not isinstance(node, h5py.Group) or node.get(part) is None:
            return None
        node = node[part]
    return node


def _writer(h5: h5py.File) -> tuple[str | None, str | None]:
    """`keras_version` and `backend`, from the root or the `model_weights` group."""
    weights = _member(h5, "model_weights")
    sources = [h5, weights] if isinstance(weights, h5py.Group) else [h5]
    version = next((v for s in sources if (v := text_attr(s, "keras_version"))), None)
    backend = next((v for s in sources if (v := text_attr(s, "backend"))), None)
    return version, backend
