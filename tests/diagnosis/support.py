"""A Keras model as the diagnosis sees it: its graph read from a saved file, its weights,
and Keras' own output of every layer (tests only; imports keras)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.analysis.reference import materialize_weights
from app.analysis.resolve import resolve
from app.diagnosis.search import diagnose
from app.formats import read_model
from tests.support.kerasref import keras


@dataclass
class Case:
    graph: object
    weights: list
    x: np.ndarray
    keras: dict[str, np.ndarray]  # Keras' output of each layer, by name

    def diagnose(self, theirs: dict[str, np.ndarray], with_keras: bool = True):
        known = {name: self.keras[name] for name in theirs} if with_keras else None
        return diagnose(self.graph, self.weights, [self.x], theirs, known)


def case(model, x: np.ndarray, folder: Path) -> Case:
    """`model` saved and read back by our reader; Keras' outputs of every layer on `x`."""
    path = folder / "model.keras"
    model.save(path)
    probe = keras.Model(model.inputs, [layer.output for layer in model.layers])
    outputs = probe.predict(x, verbose=0)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    with read_model(path) as loaded:
        resolve(loaded.graph, weights_in_file=True)
        weights = materialize_weights(loaded.graph)
        graph = loaded.graph
    named = {layer.name: np.asarray(out) for layer, out in zip(model.layers, outputs, strict=True)}
    return Case(graph, weights, x, named)


def codes(diagnosis) -> list[str]:
    return [m.code for m in diagnosis.mistakes]
