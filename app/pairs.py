"""A spec and the weights file saved beside it, made one legacy HDF5 model file.

Users keep what Keras 1 and 2 tutorials wrote: `model.to_json()` in one file and
`model.save_weights('x.h5')` in another. Both are read by our own readers (the spec's scan,
the weights file's HDF5 scan, in the throwaway reading process), matched layer by layer by
name (`app.formats.read_spec_with_weights`; a weights file of another model is a 422
`weight-mismatch` or a 400), and written back as the file `model.save('x.h5')` would have
written: the spec as `model_config`, the arrays under `model_weights`. From there the pair is
a model file like any other: the same report, the same check (Keras loads it with
`load_model`, through the Keras 2 → 3 copy when it needs one).
"""

from __future__ import annotations

import json
import zipfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import h5py

from app import isolation
from app.analysis.resolve import resolve
from app.errors import InvalidSpec, MalformedModel
from app.formats import read_model, read_spec_with_weights
from app.formats.v3_layout import TF_KERAS_LAYERS
from app.safety.archive import CONFIG_MEMBER, WEIGHTS_H5
from app.safety.hdf5_scan import scan_hdf5
from app.safety.legacy_h5 import DAMAGED_HDF5, HDF5_ERRORS, scan_weights_h5
from app.safety.limits import ReadLimits
from app.safety.safe_json import load_json
from app.safety.scanned import translated
from app.safety.sniff import sniff_path
from app.safety.spec_wrappers import model_config_of

COMBINED_NAME = "model-with-weights"
WEIGHTS_NOT_HDF5 = "The weights file is not HDF5: give the file model.save_weights() wrote."


def combine(spec_text: str, weights: Path, target: Path, limits: ReadLimits) -> None:
    """Write to `target` the model file of `spec_text` with the arrays of `weights`, in a
    throwaway process when HDF5 is read there (`limits.isolate_hdf5`)."""
    if not limits.isolate_hdf5:
        write_model_file(spec_text, weights, target, limits)
        return
    spec_file = target.with_name(target.name + ".spec.json")
    spec_file.write_text(spec_text)
    isolation.run_task(combine_task, weights, limits, spec=str(spec_file), target=str(target))


@isolation.task
def combine_task(
    path: Path, limits: ReadLimits, early: isolation.Early, spec: str, target: str
) -> dict[str, Any]:
    """`write_model_file`, in the throwaway process."""
    write_model_file(Path(spec).read_text(), path, Path(target), limits)
    return {}


def write_model_file(spec_text: str, weights: Path, target: Path, limits: ReadLimits) -> None:
    """The file `model.save()` would write for this spec and these weights, once both are
    read and every layer's arrays fit its config: a `.keras` archive for Keras 3's
    `.weights.h5` (arrays at saving_lib's paths, `layers/dense/vars/0`), else a legacy
    HDF5 file."""
    if _saving_lib_layout(weights, limits):
        _write_keras_archive(spec_text, weights, target, limits)
        return
    with read_spec_with_weights(spec_text, weights, limits) as loaded:
        resolve(loaded.graph, weights_in_file=True)  # a mismatch raises WeightMismatch
        version, backend = loaded.keras_version, loaded.backend
    spec = _spec_object(spec_text, limits)
    with ExitStack() as resources, h5py.File(target, "w", track_order=True) as h5:
        stored = scan_weights_h5(weights, resources, limits)
        h5.attrs["model_config"] = json.dumps(
            {"class_name": spec["class_name"], "config": spec.get("config")}
        )
        h5.attrs["keras_version"] = version or ""
        h5.attrs["backend"] = backend or ""
        group = h5.create_group("model_weights")
        group.attrs["layer_names"] = [layer.name.encode() for layer in stored.layers]
        for layer in stored.layers:
            layer_group = (
                group.create_group(layer.name) if layer.name not in group else group[layer.name]
            )
            layer_group.attrs["weight_names"] = [name.encode() for name, _ in layer.arrays]
            for name, dataset in layer.arrays:
                layer_group.create_dataset(name, data=dataset[()], track_times=False)


def _saving_lib_layout(weights: Path, limits: ReadLimits) -> bool:
    """A Keras 3 `.weights.h5` (`model.save_weights('x.weights.h5')`): its arrays sit below
    `layers` (tf.keras 2.13: `_layer_checkpoint_dependencies`), with no `layer_names`."""
    if sniff_path(weights) != "legacy_h5":
        raise MalformedModel(WEIGHTS_NOT_HDF5)
    with translated(HDF5_ERRORS, DAMAGED_HDF5), h5py.File(weights, "r") as h5:
        scan_hdf5(h5, limits)
        return "layer_names" not in h5.attrs and any(
            name in h5 for name in ("layers", TF_KERAS_LAYERS)
        )


def _write_keras_archive(spec_text: str, weights: Path, target: Path, limits: ReadLimits) -> None:
    spec = _spec_object(spec_text, limits)
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr(CONFIG_MEMBER, json.dumps(spec))
        archive.write(weights, WEIGHTS_H5)
    with read_model(target, limits) as loaded:
        resolve(loaded.graph, weights_in_file=True)  # a mismatch raises WeightMismatch


def _spec_object(text: str, limits: ReadLimits) -> dict[str, Any]:
    spec = load_json(text, what="The spec", syntax_error=InvalidSpec, limits=limits)
    if isinstance(spec, str):  # to_json()'s string, sent as a JSON string
        spec = load_json(spec, what="The spec", syntax_error=InvalidSpec, limits=limits)
    spec = model_config_of(spec)
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
        raise InvalidSpec("The spec is not the JSON of a Keras model.")
    return spec
