"""The seed models of DESIGN.md, built with Keras (tests only), and their saved forms."""

from __future__ import annotations

from pathlib import Path

from tests.formats.models import seeded
from tests.kerasref import keras

layers = keras.layers


def seed_model(center: bool = True):
    """DESIGN.md's: Input((4096,)) → Dense(512, relu) → BatchNormalization → Dropout(0.5)
    → Dense(80, sigmoid)."""
    return keras.Sequential(
        [
            keras.Input((4096,)),
            layers.Dense(512, activation="relu"),
            layers.BatchNormalization(center=center),
            layers.Dropout(0.5),
            layers.Dense(80, activation="sigmoid"),
        ]
    )


def small_model():
    """Input((6,)) → Dense(5) → BatchNormalization → Dense(3), weights seeded."""
    return seeded(
        keras.Sequential(
            [keras.Input((6,)), layers.Dense(5), layers.BatchNormalization(), layers.Dense(3)]
        )
    )


def saved(model, path: Path) -> Path:
    """model.save(path); `.h5` writes legacy HDF5, `.keras` the v3 archive."""
    model.save(path)
    return path
