"""Readers: every model format becomes one `ModelGraph`, with the weights the file stores.

    read_model(path)  the format from the bytes (`sniff`), then
        keras_v3      `.keras` archive           → keras_v3.read_keras_v3
        legacy_h5     HDF5 from model.save()     → legacy_h5.read_legacy_h5
        spec_json     model.to_json() in a file  → spec_json.read_spec_path
    read_spec(obj)    model.to_json() given as an object or a string

A `LoadedModel` keeps the files it read open, because weights are read lazily; close it, or
use it as a context manager. Errors are `app.errors` classes, never a library's exception.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.formats.keras_v3 import read_keras_v3
from app.formats.legacy_h5 import read_legacy_h5
from app.formats.sniff import Format, sniff_bytes, sniff_path
from app.formats.spec_json import read_spec_object, read_spec_path
from app.graph import ModelGraph

__all__ = ["Format", "LoadedModel", "read_model", "read_spec", "sniff_bytes", "sniff_path"]


@dataclass
class LoadedModel:
    """A model read from a file or a spec; `close()` releases the files behind its weights."""

    graph: ModelGraph
    format: Format
    keras_version: str | None = None
    backend: str | None = None
    _resources: ExitStack = field(default_factory=ExitStack, repr=False)

    def close(self) -> None:
        self._resources.close()

    def __enter__(self) -> LoadedModel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_model(path: Path | str) -> LoadedModel:
    """Read a model file of any accepted format; the format comes from its bytes."""
    path = Path(path)
    fmt = sniff_path(path)
    if fmt == "spec_json":
        graph, version, backend = read_spec_path(path)
        return LoadedModel(graph, fmt, version, backend)
    resources = ExitStack()
    try:
        if fmt == "keras_v3":
            graph, version = read_keras_v3(path, resources)
            backend = None
        else:
            graph, version, backend = read_legacy_h5(path, resources)
    except BaseException:
        resources.close()
        raise
    return LoadedModel(graph, fmt, version, backend, resources)


def read_spec(spec: dict[str, Any] | str) -> LoadedModel:
    """Read the JSON that model.to_json() writes, as an object or a (JSON) string."""
    graph, version, backend = read_spec_object(spec)
    return LoadedModel(graph, "spec_json", version, backend)
