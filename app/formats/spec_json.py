"""Architecture specs: the JSON that `model.to_json()` writes, once the scan has checked it
(`app.safety.scan.ScannedSpec`: given as an object, a string, or a file).

Keras 2 specs carry `keras_version` and `backend` beside `class_name`; Keras 3 specs do not.
A spec has no weights file, so every layer keeps `stored=None`.
"""

from __future__ import annotations

from app.formats.config import graph_from_config
from app.formats.loaded import LoadedModel
from app.safety.scanned import ScannedSpec


def read_spec_json(scanned: ScannedSpec) -> LoadedModel:
    """The graph of a scanned spec, with its writer's Keras version and backend when the spec
    records them, and the refusals it earns; the graph says whether the spec carries compile
    settings of its own (the check's Keras 3 copy leaves them out)."""
    graph = graph_from_config(scanned.config.model)
    graph.compile_settings = scanned.compile_settings
    graph.wrapper = scanned.wrapper
    return LoadedModel(
        graph=graph,
        format="spec_json",
        keras_version=scanned.keras_version,
        backend=scanned.backend,
        refusals=scanned.config.refusals,
    )
