"""Inside a worker, after loading: every layer Keras built must be of an allowlisted class.

The registry (app.layers) names the allowed classes; here the names become class objects of
the Keras that is loaded, and each layer's exact type is looked up (`type(layer) in allowed`,
not isinstance: a subclass registered under a Keras name is refused). Models, InputLayer,
RNN cells and the classes keras.applications defines for itself are allowed too. Keras
arrives as an argument: importing this module imports no Keras.
"""

from __future__ import annotations

import importlib
from typing import Any

from app.layers.registry import known_classes

STRUCTURE_CLASSES = ("InputLayer", "SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells")
APPLICATION_CLASSES = {
    "CustomScaleLayer": "keras.src.applications.inception_resnet_v2",
    "LayerScale": "keras.src.applications.convnext",
    "StochasticDepth": "keras.src.applications.convnext",
}


def allowed_classes(keras: Any) -> frozenset[type]:
    """The class objects a loaded model may contain."""
    found = {getattr(keras.layers, n, None) for n in (*known_classes(), *STRUCTURE_CLASSES)}
    found |= {getattr(keras, n, None) for n in ("Sequential", "Model")}
    found.add(importlib.import_module("keras.src.models.functional").Functional)
    for name, module in APPLICATION_CLASSES.items():
        found.add(getattr(importlib.import_module(module), name, None))
    found.discard(None)
    return frozenset(found)  # type: ignore[arg-type]


def disallowed_layers(keras: Any, model: Any) -> list[tuple[str, str]]:
    """(layer name, class name) of every layer, nested ones included, not on the allowlist."""
    allowed = allowed_classes(keras)
    layers = model._flatten_layers(include_self=True, recursive=True)
    return [(layer.name, type(layer).__name__) for layer in layers if type(layer) not in allowed]
