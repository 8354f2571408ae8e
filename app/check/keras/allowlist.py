"""Inside a worker, after loading: every layer Keras built must be of an allowlisted class.

The registry (`app.layers.registry.allowlist()`: every entry, with InputLayer, the models and
the RNN cells) names the allowed classes and the module each is exported from; here the names
become class objects of the Keras that is loaded, and each layer's exact type is looked up
(`type(layer) in allowed`, not isinstance: a subclass registered under a Keras name is
refused). Keras arrives as an argument: importing this module imports no Keras.
"""

from __future__ import annotations

import importlib
from typing import Any

from app.layers.registry import LAYERS_MODULE, allowlist


def allowed_classes(keras: Any) -> frozenset[type]:
    """The class objects a loaded model may contain."""
    found = {_class_object(keras, modules[0], name) for name, modules in allowlist().items()}
    found.discard(None)
    return frozenset(found)  # type: ignore[arg-type]


def _class_object(keras: Any, module: str, name: str) -> type | None:
    """The class `name` where Keras exports it (None when this Keras has no such class)."""
    home = {LAYERS_MODULE: keras.layers, "keras": keras}.get(module)
    if home is None:
        try:
            home = importlib.import_module(module)
        except ImportError:  # a tf.keras module (the op layers'): Keras 3 has no such class
            return None
    return getattr(home, name, None)


def disallowed_layers(keras: Any, model: Any) -> list[tuple[str, str]]:
    """(layer name, class name) of every layer, nested ones included, not on the allowlist."""
    allowed = allowed_classes(keras)
    layers = model._flatten_layers(include_self=True, recursive=True)
    return [(layer.name, type(layer).__name__) for layer in layers if type(layer) not in allowed]
