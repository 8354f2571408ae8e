"""Pairs of model files for the comparison tests: built with Keras here, saved to tmp."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from app.compare.schemas import Comparison
from app.compare.task import SideFile, compare_files
from app.safety.limits import DEFAULT_LIMITS

HERE = replace(DEFAULT_LIMITS, isolate_hdf5=False)  # read in this process: faster tests


def compare(a: Path, b: Path, isolated: bool = False) -> Comparison:
    limits = DEFAULT_LIMITS if isolated else HERE
    return compare_files(SideFile(a, a.name), SideFile(b, b.name), limits)


def layer(comparison: Comparison, name: str):
    for diff in comparison.layers:
        if (diff.b or diff.a).name == name:
            return diff
    raise KeyError(name)


def data(seed: int = 0, n: int = 64, features: int = 6, classes: int = 3):
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 3.0, size=(n, features)).astype("float32")
    y = rng.integers(0, classes, size=(n,))
    return x, y


def backbone_and_head(keras, names: str = ""):
    """Input(6) → backbone [Dense(8) → BatchNormalization] → head Dense(3, softmax), with
    explicit names so both files of a pair agree on them."""
    inputs = keras.Input((6,), name="x")
    backbone = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu", name="features"),
            keras.layers.BatchNormalization(name="bn"),
        ],
        name="backbone",
    )
    head = keras.layers.Dense(3, activation="softmax", name="head")
    return keras.Model(inputs, head(backbone(inputs)), name="model" + names), backbone


def fit(model, epochs: int = 3) -> None:
    x, y = data()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=epochs, batch_size=16, verbose=0)
