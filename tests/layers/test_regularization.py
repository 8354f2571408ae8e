"""Regularization layers: no weights (seed state included) and the input's shape, as Keras."""

from __future__ import annotations

import io
import zipfile

import h5py
import pytest

from app.layers.registry import lookup
from tests.support.kerascompare import registry_facts
from tests.support.kerasref import keras, layer_facts

CASES = [
    ("Dropout", {"rate": 0.5}, [(None, 5)]),
    ("Dropout", {"rate": 0.0}, [(None, 5)]),
    ("Dropout", {"rate": 0.2, "noise_shape": [None, 1, 3], "seed": 1}, [(None, 4, 3)]),
    ("SpatialDropout1D", {"rate": 0.3}, [(None, 7, 4)]),
    ("SpatialDropout2D", {"rate": 0.3}, [(None, 8, 8, 3)]),
    ("SpatialDropout2D", {"rate": 0.3, "data_format": "channels_first"}, [(None, 3, 8, 8)]),
    ("SpatialDropout3D", {"rate": 0.3}, [(None, 4, 4, 4, 2)]),
    ("GaussianDropout", {"rate": 0.4}, [(None, 5)]),
    ("GaussianNoise", {"stddev": 0.1}, [(None, 6, 2)]),
    ("GaussianNoise", {"stddev": 0.0}, [(None, 6, 2)]),
    ("AlphaDropout", {"rate": 0.1}, [(None, 5)]),
    ("AlphaDropout", {"rate": 0.1, "noise_shape": [None, 1]}, [(None, 5)]),
    ("ActivityRegularization", {}, [(None, 5)]),
    ("ActivityRegularization", {"l1": 0.01, "l2": 0.02}, [(None, 3, 4)]),
]


@pytest.mark.parametrize(("class_name", "config", "shapes"), CASES)
def test_regularization_layers_match_keras(class_name, config, shapes):
    assert registry_facts(class_name, config, shapes) == layer_facts(class_name, config, shapes)


@pytest.mark.parametrize(
    ("class_name", "config"),
    [
        ("Dropout", {"rate": 0.5}),
        ("GaussianNoise", {"stddev": 0.1}),
        ("AlphaDropout", {"rate": 0.1}),
    ],
)
def test_seed_state_is_neither_a_weight_nor_stored(class_name, config, tmp_path):
    layer = getattr(keras.layers, class_name)(**config)
    model = keras.Sequential([keras.Input((4,)), layer])
    assert [v.path.split("/")[-1] for v in layer.variables] == ["seed_generator_state"]
    assert layer.weights == []
    model.save(tmp_path / "m.keras")
    assert stored_datasets(tmp_path / "m.keras") == []


def stored_datasets(path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        data = archive.read("model.weights.h5")
    found: list[str] = []
    with h5py.File(io.BytesIO(data), "r") as f:
        f.visititems(
            lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None
        )
    return found


@pytest.mark.parametrize(
    ("class_name", "shape"),
    [
        ("SpatialDropout1D", (None, 4)),
        ("SpatialDropout2D", (None, 4, 4)),
        ("SpatialDropout3D", (None, 4, 4, 4)),
    ],
)
def test_spatial_dropout_rejects_wrong_rank(class_name, shape):
    with pytest.raises(ValueError):
        layer_facts(class_name, {"rate": 0.5}, [shape])
    with pytest.raises(ValueError):
        lookup(class_name).output_shape({"rate": 0.5}, [shape])
