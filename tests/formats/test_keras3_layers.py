"""A Keras 3.15 `.keras` file holding layers only Keras 3 has: augmentation layers
(RandomGrayscale, RandomHue, MixUp, ...), one of them recorded with `training=True`, and
SpectralNormalization around a Conv2D and a Dense: explained (counts by hand), and checked
against Keras' predict (the augmentations are the identity there, the wrapped layers run
with their kernels as stored)."""

from __future__ import annotations

import pytest

from tests.support.api import post_file
from tests.support.kerasref import keras

# The augmentation layers have no weights. SpectralNormalization(Conv2D(3 → 4, 3×3)):
# 3·3·3·4 + 4 = 112 trainable, vector_u (1, 4) non-trainable; SpectralNormalization(Dense(4
# → 4)): 4·4 + 4 = 20 trainable, vector_u 4 non-trainable. Total 140, non-trainable 8 (the
# kernel a .keras file stores twice counts once).
TOTALS = {"params": 140, "trainable": 132, "non_trainable": 8}


def _model():
    layers = keras.layers
    inputs = keras.Input((6, 7, 3), name="image")
    x = layers.RandomGrayscale(factor=1.0, name="grayscale")(inputs)
    x = layers.RandomHue(factor=0.5, value_range=(0, 1), name="hue")(x, training=True)
    x = layers.RandomSharpness(factor=0.5, value_range=(0, 1), name="sharpness")(x)
    x = layers.MixUp(alpha=0.4, name="mix_up")(x)
    x = layers.RandAugment(value_range=(0, 1), name="rand_augment")(x)
    x = layers.SpectralNormalization(layers.Conv2D(4, 3, name="conv"), name="sn_conv")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = layers.SpectralNormalization(layers.Dense(4, name="dense"), name="sn_dense")(x)
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("augment") / "augmentations.keras"
    _model().save(path)
    return path


@pytest.fixture(scope="module")
def client(tmp_path_factory, warm_pool):
    with warm_pool.client(tmp_path_factory.mktemp("augment-api")) as client:
        yield client


def test_keras3_layers_are_explained(client, saved):
    response = post_file(client, saved, params={"check": "false"})
    assert response.status_code == 201, response.json()
    report = response.json()
    assert {k: report["totals"][k] for k in TOTALS} == TOTALS
    layers = {layer["name"]: layer for layer in report["layers"]}
    for name in ("grayscale", "hue", "sharpness", "mix_up", "rand_augment"):
        assert layers[name]["weights"] == []
        assert layers[name]["output_shape"] == [None, 6, 7, 3]
    assert [(w["name"], w["shape"], w["trainable"]) for w in layers["sn_dense"]["weights"]] == [
        ("dense/kernel", [4, 4], True),
        ("vector_u", [1, 4], False),
        ("dense/bias", [4], True),
    ]
    assert layers["sn_conv"]["output_shape"] == [None, 4, 5, 4]


def test_keras_counts_the_same(saved):
    model = keras.saving.load_model(saved)
    assert model.count_params() == TOTALS["params"]
    assert sum(w.numpy().size for w in model.non_trainable_weights) == TOTALS["non_trainable"]


def test_keras3_layers_check_passes(client, saved):
    """Before: 422 unknown-layers naming the six classes."""
    response = post_file(client, saved)
    assert response.status_code == 201, response.json()
    check = response.json()["check"]
    assert check["status"] == "passed", check
    assert {layer["verdict"] for layer in check["layers"]} == {"passed"}


def test_auto_contrast_stays_unknown(client):
    """Allowed inside AugMix and RandAugment only: in a config it transforms at inference,
    which nothing here computes, so the spec is refused naming it. (Keras 3.15 cannot put
    Equalization in a functional model: 'part of a cycle'.)"""
    inputs = keras.Input((6, 7, 3))
    outputs = keras.layers.AutoContrast(value_range=(0, 1))(inputs)
    spec = keras.Model(inputs, outputs).to_json()
    files = {"file": ("model.json", spec.encode())}
    response = client.post("/api/v1/reports", files=files, params={"check": "false"})
    assert response.status_code == 422, response.json()
    assert response.json()["code"] == "unknown-layers"
    assert "AutoContrast" in response.json()["message"]


def _save(model, tmp_path_factory, name: str):
    path = tmp_path_factory.mktemp("categorical") / name
    model.save(path)
    return path


@pytest.fixture(scope="module")
def categorical(tmp_path_factory):
    """Hashing (with a mask value) into CategoryEncoding's counts, into a Dense: 5·2 + 2."""
    inputs = keras.Input((4,), dtype="int64", name="ids")
    x = keras.layers.Hashing(num_bins=5, mask_value=0, name="hashing")(inputs)
    x = keras.layers.CategoryEncoding(5, output_mode="count", name="counts")(x)
    model = keras.Model(inputs, keras.layers.Dense(2, name="dense")(x))
    return _save(model, tmp_path_factory, "categorical.keras")


@pytest.fixture(scope="module")
def string_lookup(tmp_path_factory):
    """StringLookup (4 = 3 words and an OOV index) into an Embedding(4, 2): 8 parameters."""
    inputs = keras.Input((3,), dtype="string", name="words")
    x = keras.layers.StringLookup(vocabulary=["a", "b", "c"], name="lookup")(inputs)
    model = keras.Model(inputs, keras.layers.Embedding(4, 2, name="embedding")(x))
    return _save(model, tmp_path_factory, "string_lookup.keras")


def test_hashing_and_category_encoding_check_passes(client, categorical):
    """Before: 422 unknown-layers naming Hashing and CategoryEncoding."""
    response = post_file(client, categorical)
    assert response.status_code == 201, response.json()
    report = response.json()
    assert report["totals"]["params"] == 12
    assert report["check"]["status"] == "passed", report["check"]


def test_string_lookup_is_explained_and_its_check_unsupported(client, string_lookup):
    """Before: 422 unknown-layers; with the class known, the seeding failed (check-failed)."""
    response = post_file(client, string_lookup)
    assert response.status_code == 201, response.json()
    report = response.json()
    assert report["totals"]["params"] == 8
    layers = {layer["name"]: layer for layer in report["layers"]}
    assert layers["lookup"]["output_shape"] == [None, 3]
    check = report["check"]
    assert check["status"] == "unsupported", check
    assert check["code"] == "string-inputs"
    assert check["message"].startswith("The model's input words takes strings")


def test_integer_lookup_check_is_unsupported_naming_it(client, tmp_path_factory):
    inputs = keras.Input((3,), dtype="int64", name="ids")
    x = keras.layers.IntegerLookup(vocabulary=[3, 5, 7], name="lookup")(inputs)
    model = keras.Model(inputs, keras.layers.Embedding(4, 2, name="embedding")(x))
    response = post_file(client, _save(model, tmp_path_factory, "integer_lookup.keras"))
    assert response.status_code == 201, response.json()
    check = response.json()["check"]
    assert check["status"] == "unsupported", check
    assert check["code"] == "unsupported-model"
    assert "IntegerLookup looks its inputs up in a vocabulary" in check["message"]
