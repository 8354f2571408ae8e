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
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import h5py

from app import isolation
from app.analysis.resolve import resolve
from app.errors import InvalidSpec
from app.formats import read_spec_with_weights
from app.safety.legacy_h5 import scan_weights_h5
from app.safety.limits import ReadLimits
from app.safety.safe_json import load_json

COMBINED_NAME = "model-with-weights.h5"


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
    read and every layer's arrays fit its config."""
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


def _spec_object(text: str, limits: ReadLimits) -> dict[str, Any]:
    spec = load_json(text, what="The spec", syntax_error=InvalidSpec, limits=limits)
    if isinstance(spec, str):  # to_json()'s string, sent as a JSON string
        spec = load_json(spec, what="The spec", syntax_error=InvalidSpec, limits=limits)
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
        raise InvalidSpec("The spec is not the JSON of a Keras model.")
    return spec
