"""Tiny Keras models for the runtime tests, built in code and seeded."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import keras
import numpy as np

SEED_INPUT = np.array([[0, 1], [2, 3]], dtype="float32")


def seed_batchnorm() -> keras.Model:
    """``Input((2,)) → BatchNormalization(axis=1)``, fresh (moving_mean 0, moving_variance 1)."""
    return keras.Sequential([keras.Input((2,)), keras.layers.BatchNormalization(axis=1)])


def dense_bn_dense(dropout: float | None = None) -> keras.Model:
    """``Input((4,)) → Dense(3) → BatchNormalization → [Dropout] → Dense(2)``, with BN
    statistics that are not 0 and 1 (seeded), so a mix-up of weights would show."""
    keras.utils.set_random_seed(7)
    layers = [keras.layers.Dense(3, activation="relu"), keras.layers.BatchNormalization()]
    if dropout is not None:
        layers.append(keras.layers.Dropout(dropout))
    model = keras.Sequential([keras.Input((4,)), *layers, keras.layers.Dense(2)])
    bn = model.layers[1]
    rng = np.random.default_rng(7)
    bn.set_weights(
        [
            rng.uniform(0.5, 2.0, 3).astype("float32"),  # gamma
            rng.normal(size=3).astype("float32"),  # beta
            rng.normal(size=3).astype("float32"),  # moving_mean
            rng.uniform(0.2, 3.0, 3).astype("float32"),  # moving_variance
        ]
    )
    return model


def slow_model(steps: int = 2_000_000) -> keras.Model:
    """``Input((1,)) → RepeatVector(steps) → LSTM(4)``: a tiny file that predicts for ~30 s."""
    return keras.Sequential(
        [keras.Input((1,)), keras.layers.RepeatVector(steps), keras.layers.LSTM(4)]
    )


def per_layer_predict(model: keras.Model, x: np.ndarray) -> list[np.ndarray]:
    """Keras itself, in this process: every layer's output via a sub-model's predict."""
    probe = keras.Model(model.inputs, [layer.output for layer in model.layers])
    return probe.predict(x, batch_size=len(x), verbose=0)


def with_edited_config(source: Path, target: Path, edit) -> Path:
    """Copy a .keras archive, passing its config.json through ``edit(config)``."""
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as out:
        for name in archive.namelist():
            data = archive.read(name)
            if name == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            out.writestr(name, data)
    return target
