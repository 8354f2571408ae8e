"""Fixtures shared by the check's tests."""

from __future__ import annotations

import pytest

from tests.support.kerasref import keras
from tests.support.models import randomize_weights


@pytest.fixture(scope="module")
def conv_file(tmp_path_factory):
    """Two Conv2D layers of 64 × 64 × 8 float32 outputs: 131,072 bytes each per sample
    (the real-size caps' and the disk budget's tests work their figures out from these)."""
    path = tmp_path_factory.mktemp("conv") / "conv.keras"
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((64, 64, 3)),
            layers.Conv2D(8, 3, padding="same"),
            layers.Conv2D(8, 3, padding="same", activation="relu"),
        ]
    )
    randomize_weights(model).save(path)
    return path
