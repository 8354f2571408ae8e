"""Readers: what the safety scan validated becomes one `ModelGraph`, with the stored weights.

The way is one way. The scan (`app.safety.scan`) runs first over the bytes and returns typed
values; a reader turns one of them into the graph, and never calls the scan back:

    read_model(path)  identify (sniff, polyglot) → scan_file → read_scanned:
        ScannedArchive  `.keras` archive           → keras_v3.read_keras_v3
        ScannedHdf5     HDF5 from model.save()     → legacy_h5.read_legacy_h5
        ScannedSpec     model.to_json() in a file  → spec_json.read_spec_json
    read_spec(obj)    model.to_json() given as an object or a string: scan_spec → read_scanned
    read_spec_with_weights(obj, path)   a spec and the file model.save_weights('x.h5') wrote
                      beside it: scan_spec, scan_weights_h5 → legacy_h5.attach_h5_weights

The model configs of all three end in `config.graph_from_config`, which builds the graph from
the checked entries (`app.safety.model_config`). A `LoadedModel` keeps the files the scan
opened, because weights are read lazily; close it, or use it as a context manager. Errors are
`app.errors` classes, never a library's exception.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.errors import MalformedModel, WeightMismatch
from app.formats.keras_v3 import read_keras_v3
from app.formats.legacy_h5 import attach_h5_weights, read_legacy_h5
from app.formats.loaded import LoadedModel
from app.formats.spec_json import read_spec_json
from app.graph import ModelGraph
from app.safety.legacy_h5 import scan_weights_h5
from app.safety.limits import DEFAULT_LIMITS, ReadLimits
from app.safety.refusals import Refusal
from app.safety.scan import scan_file, scan_spec
from app.safety.scanned import Scanned, ScannedArchive, ScannedSpec, StoredLayer
from app.safety.sniff import Format, sniff_bytes, sniff_path

__all__ = [
    "Format",
    "ReadLimits",
    "LoadedModel",
    "Refusal",
    "read_model",
    "read_scanned",
    "read_spec",
    "read_spec_with_weights",
    "sniff_bytes",
    "sniff_path",
]


def read_model(path: Path | str, limits: ReadLimits = DEFAULT_LIMITS) -> LoadedModel:
    """Read a model file of any accepted format; the format comes from its bytes. Hostile or
    unparseable files raise an `app.errors` error; code-bearing ones come back with refusals.
    It reads in this process: isolating it is the caller's choice (app.isolation)."""
    return read_scanned(scan_file(Path(path), limits))


def read_spec(spec: dict[str, Any] | str, limits: ReadLimits = DEFAULT_LIMITS) -> LoadedModel:
    """Read the JSON that model.to_json() writes, as an object or a (JSON) string."""
    return read_scanned(scan_spec(spec, limits))


def read_spec_with_weights(
    spec: dict[str, Any] | str, weights: Path | str, limits: ReadLimits = DEFAULT_LIMITS
) -> LoadedModel:
    """A spec with the weights-only HDF5 file saved beside it (`save_weights`), matched to
    its layers by name as a model file's own weights are. It reads in this process (the
    caller isolates it, as for any HDF5 file); the file stays open with the model."""
    loaded = read_scanned(scan_spec(spec, limits))
    if sniff_path(Path(weights)) != "legacy_h5":
        raise MalformedModel(
            "The weights file is not HDF5: give the file model.save_weights('x.h5') wrote."
        )
    try:
        stored = scan_weights_h5(Path(weights), loaded._resources, limits)
        _check_layers_are_the_specs(loaded.graph, stored.layers)
        attach_h5_weights(loaded.graph, stored.layers)
    except BaseException:
        loaded.close()
        raise
    loaded.keras_version = loaded.keras_version or stored.keras_version
    loaded.backend = loaded.backend or stored.backend
    return loaded


def _check_layers_are_the_specs(graph: ModelGraph, layers: list[StoredLayer]) -> None:
    """Every layer the weights file stores arrays for is one of the spec's: else these are
    another model's weights (a 422, not a damaged file)."""
    names = {node.name for node in graph.layers}
    foreign = [layer.name for layer in layers if layer.arrays and layer.name not in names]
    if foreign:
        raise WeightMismatch(
            f"The weights file holds weights for {', '.join(map(repr, foreign[:5]))}, which "
            "the spec does not define: they are another model's weights.",
            details={"layers": foreign},
        )


def read_scanned(scanned: Scanned) -> LoadedModel:
    """The model a scan's result describes; a file's open resources pass to the model (and
    are closed here if reading fails)."""
    if isinstance(scanned, ScannedSpec):
        return read_spec_json(scanned)
    try:
        if isinstance(scanned, ScannedArchive):
            return read_keras_v3(scanned)
        return read_legacy_h5(scanned)
    except BaseException:
        scanned.resources.close()
        raise
