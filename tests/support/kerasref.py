"""What Keras itself builds, for tests to compare the registry and readers against.

Only tests import this module (it imports keras); the app never does.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import keras  # noqa: E402


def layer_facts(class_name: str, config: dict[str, Any], input_shapes: list[tuple]) -> dict:
    """Build `class_name(**config)` on symbolic inputs of `input_shapes` (batch first).

    Returns {"weights": [(path_in_layer, shape, trainable), ...] in `layer.weights` order,
             "output_shape": shape or list of shapes}.
    """
    layer = getattr(keras.layers, class_name).from_config(dict(config))
    inputs = [keras.Input(batch_shape=shape) for shape in input_shapes]
    out = layer(inputs[0] if len(inputs) == 1 else inputs)
    return {
        "weights": [(weight_path(layer, w), tuple(w.shape), w.trainable) for w in layer.weights],
        "output_shape": _shapes(out),
    }


def weight_path(layer: Any, weight: Any) -> str:
    """`weight.path` without the layer's own name prefix: `kernel`, `cell/kernel`, ..."""
    path = weight.path
    prefix = layer.name + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


def _shapes(out: Any) -> Any:
    if isinstance(out, list | tuple):
        return [_shapes(o) for o in out]
    return tuple(out.shape)


def per_layer_predict(model: Any, x: Any) -> list:
    """Keras itself, in this process: every layer's output via a sub-model's predict."""
    probe = keras.Model(model.inputs, [layer.output for layer in model.layers])
    return probe.predict(x, batch_size=len(x), verbose=0)
