"""What a spec file may hold around the model's config, as people keep them:

    model.to_json()                 {"class_name": "Sequential", "config": ..., "keras_version"}
    a legacy HDF5 file's attributes {"keras_version", "backend", "model_config": {...},
                                     "training_config"}, as json.dump(dict(h5.attrs)) keeps them
    a TensorFlow.js Layers model    {"format": "layers-model", "generatedBy": "keras v2.12.0",
      (`model.json`)                 "convertedBy": "TensorFlow.js Converter v4.6.0",
                                     "modelTopology": <either of the above>, "weightsManifest"}

The converter (`tensorflowjs_converter --input_format keras`) copies a Keras file's attributes
into `modelTopology` (`model_config` in it); a model saved by TensorFlow.js itself
(`model.save`) writes the config there directly, its `keras_version` "tfjs-layers 4.x". Its
weights sit in the `.bin` files the manifest names, which are not sent: the model is explained
from its config, as a `to_json()` spec is. A TensorFlow.js graph model (`"format":
"graph-model"`, converted from a SavedModel) holds a TensorFlow graph, not a Keras config:
415. Pure: the object has passed the JSON caps, and this only looks inside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.errors import UnsupportedFormat

MAX_STRING_LAYERS = 3  # a spec string inside a JSON string, at most this deep
TFJS_LAYERS = "layers-model"
TFJS_GRAPH = "graph-model"


@dataclass(frozen=True)
class Unwrapped:
    """The model's `{"class_name", "config"}` object, the writer's version and backend where
    the file records them, and a sentence naming the wrapper the config came out of."""

    model: Any
    keras_version: str | None = None
    backend: str | None = None
    wrapper: str | None = None


def unwrap_spec(obj: dict[str, Any]) -> Unwrapped:
    """The model config inside a spec object, unchanged when it is one already."""
    if "class_name" in obj:
        return Unwrapped(obj, _text(obj.get("keras_version")), _text(obj.get("backend")))
    if isinstance(obj.get("modelTopology"), dict) or obj.get("format") in (TFJS_LAYERS, TFJS_GRAPH):
        return _tfjs(obj)
    if isinstance(obj.get("model_config"), dict):
        inner = _attributes(obj)
        return Unwrapped(inner.model, inner.keras_version, inner.backend, HDF5_ATTRIBUTES)
    return Unwrapped(obj)


def model_config_of(obj: Any) -> Any:
    """What Keras' `model_from_json` is to be given for a spec that passed the safety scan
    (`app.safety.spec_json`, whose caps held for these same bytes): a string holding the
    JSON (to_json()'s text, json.dump'ed once more) decoded, the model config unwrapped."""
    for _ in range(MAX_STRING_LAYERS):
        if not isinstance(obj, str):
            break
        obj = json.loads(obj)
    return unwrap_spec(obj).model if isinstance(obj, dict) else obj


HDF5_ATTRIBUTES = (
    "The file holds a legacy HDF5 file's attributes (keras_version, backend, model_config): "
    "the model's config, without its weights."
)


def _tfjs(obj: dict[str, Any]) -> Unwrapped:
    if obj.get("format") == TFJS_GRAPH:
        raise UnsupportedFormat(
            "This file is a TensorFlow.js graph model (model.json converted from a SavedModel "
            "or a frozen graph): it holds a TensorFlow graph, not a Keras model. A TensorFlow.js "
            'Layers model (`"format": "layers-model"`, converted from a Keras file) is read; '
            "or send the Keras file it came from (.keras or .h5).",
            details={"framework": "a TensorFlow.js graph model"},
        )
    topology = obj.get("modelTopology")
    if not isinstance(topology, dict):
        return Unwrapped(obj)  # no model inside: the structure check names what is missing
    inner = _attributes(topology) if "model_config" in topology else unwrap_spec(topology)
    writer = ", ".join(
        part
        for part in (_written_by(obj.get("generatedBy")), _converted_by(obj.get("convertedBy")))
        if part
    )
    wrapper = (
        f"Read from a TensorFlow.js Layers model.json{f' ({writer})' if writer else ''}: the "
        "model's config only. Its weights are in the .bin files its weightsManifest names, "
        "which were not sent, so the counts come from the config's shapes; send the Keras "
        "file it was converted from for the stored weights."
    )
    return Unwrapped(inner.model, inner.keras_version, inner.backend, wrapper)


def _attributes(obj: dict[str, Any]) -> Unwrapped:
    """A legacy HDF5 file's attributes: `model_config` as an object (as the converter copies
    it); any other value is left for the structure check to name."""
    model = obj["model_config"] if isinstance(obj.get("model_config"), dict) else obj
    return Unwrapped(model, _text(obj.get("keras_version")), _text(obj.get("backend")))


def _written_by(value: Any) -> str:
    return f"written by {value}" if isinstance(value, str) and value else ""


def _converted_by(value: Any) -> str:
    return f"converted by {value}" if isinstance(value, str) and value else ""


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
