"""Where a `.keras` file really stores each variable, and where the registry says it does.

Also two small builders of functional models from layers, for the models these compare.
"""

from __future__ import annotations

import io
import zipfile

import h5py

from app.layers.recurrent import to_snake_case
from app.layers.registry import lookup
from tests.support.kerasref import keras


def stored_datasets(path) -> dict[str, tuple]:
    with zipfile.ZipFile(path) as archive:
        data = archive.read("model.weights.h5")
    found: dict[str, tuple] = {}
    with h5py.File(io.BytesIO(data), "r") as f:
        f.visititems(
            lambda name, obj: (
                found.update({name: obj.shape}) if isinstance(obj, h5py.Dataset) else None
            )
        )
    return found


def input_shapes(layer) -> list[tuple]:
    tensors = layer.input if isinstance(layer.input, list | tuple) else [layer.input]
    return [tuple(t.shape) for t in tensors]


def predicted_datasets(model) -> dict[str, tuple]:
    """`layers/<name>/<owner>/vars/<i>` -> shape for every spec of every layer with weights."""
    predicted: dict[str, tuple] = {}
    used: dict[str, int] = {}
    for layer in model.layers:
        base = to_snake_case(layer.__class__.__name__)
        used[base] = used.get(base, -1) + 1
        name = f"{base}_{used[base]}" if used[base] else base
        entry = lookup(layer.__class__.__name__)
        if entry is None:
            assert layer.__class__.__name__ == "InputLayer"
            continue
        counts: dict[str, int] = {}
        for spec in entry.weights(layer.get_config(), input_shapes(layer)):
            i = counts.get(spec.owner, 0)
            counts[spec.owner] = i + 1
            owner = f"{spec.owner}/" if spec.owner else ""
            predicted[f"layers/{name}/{owner}vars/{i}"] = tuple(spec.shape)
    return predicted


def functional(shapes, call):
    inputs = [keras.Input(batch_shape=s) for s in shapes]
    return keras.Model(inputs, call(*inputs))


def chain(*layers):
    def call(x):
        for layer in layers:
            x = layer(x)
        return x

    return call
