"""Keras 1 layer configs, hand-made as Keras 1.2 `to_json()` wrote them: the keys Keras 2
renamed are read in Keras 2's words (app/formats/keras1.py); a key with no Keras 2 counterpart
is a 422 that names every such key with its layer, in one answer."""

from __future__ import annotations

import copy
import json

import pytest

from tests.support.api import make_client, post

EMBEDDING = {
    "class_name": "Embedding",
    "config": {
        "name": "embedding_1",
        "input_dim": 20,
        "output_dim": 8,
        "init": "uniform",
        "input_length": 5,
        "dropout": 0.2,
        "W_regularizer": None,
        "W_constraint": None,
        "batch_input_shape": [None, 5],
        "input_dtype": "int32",
    },
}
LSTM = {
    "class_name": "LSTM",
    "config": {
        "name": "lstm_1",
        "output_dim": 6,
        "init": "glorot_uniform",
        "inner_init": "orthogonal",
        "forget_bias_init": "one",
        "activation": "tanh",
        "inner_activation": "sigmoid",
        "dropout_W": 0.0,
        "dropout_U": 0.0,
        "consume_less": "gpu",
        "return_sequences": False,
    },
}
NOISE = {"class_name": "GaussianNoise", "config": {"name": "gaussiannoise_1", "sigma": 0.1}}
DENSE = {
    "class_name": "Dense",
    "config": {"name": "dense_1", "output_dim": 3, "init": "glorot_uniform", "bias": True},
}
BN = {
    "class_name": "BatchNormalization",
    "config": {
        "name": "batchnormalization_1",
        "epsilon": 0.001,
        "mode": 0,
        "axis": -1,
        "momentum": 0.99,
        "beta_init": "zero",
        "gamma_init": "one",
    },
}


def _spec(*layers: dict) -> str:
    """A Keras 1 Sequential: its config is the bare list of its layers."""
    return json.dumps({"class_name": "Sequential", "config": list(layers)})


def _with(layer: dict, **config) -> dict:
    changed = copy.deepcopy(layer)
    changed["config"].update(config)
    return changed


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with make_client(tmp_path_factory.mktemp("keras1")) as client:
        yield client


def test_keras1_keys_with_a_counterpart_are_read_in_keras2_words(client):
    response = post(client, json={"spec": _spec(EMBEDDING, LSTM, NOISE, DENSE, BN)})
    assert response.status_code == 201, response.text
    totals = response.json()["totals"]
    # Embedding 20 × 8; LSTM 4 · 6 · (8 + 6 + 1); Dense 6 × 3 + 3; BN 4 × 3, 2 × 3 moving.
    assert (totals["params"], totals["non_trainable"]) == (160 + 360 + 21 + 12, 6)


def test_keras1_keys_without_counterpart_are_one_422_naming_each_with_its_layer(client):
    spec = _spec(
        EMBEDDING,
        _with(LSTM, forget_bias_init="glorot_uniform"),
        NOISE,
        DENSE,
        _with(BN, mode=1),
    )
    response = post(client, json={"spec": spec})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "unmapped-keras-one-keys"
    assert body["details"]["keys"] == [
        {"layer": "lstm_1", "class_name": "LSTM", "key": "forget_bias_init"},
        {"layer": "batchnormalization_1", "class_name": "BatchNormalization", "key": "mode"},
    ]
    assert 'lstm_1 (LSTM): forget_bias_init="glorot_uniform"' in body["message"]
    assert "batchnormalization_1 (BatchNormalization): mode=1" in body["message"]


def test_keras1_consume_less_of_no_keras2_value_is_named(client):
    response = post(client, json={"spec": _spec(EMBEDDING, _with(LSTM, consume_less="tpu"))})
    assert response.status_code == 422, response.text
    assert response.json()["details"]["keys"] == [
        {"layer": "lstm_1", "class_name": "LSTM", "key": "consume_less"}
    ]


def test_keras1_key_in_none_of_our_lists_is_named_by_us(client):
    """A Keras 1 config key that no rename maps and the class does not read is ours to name
    (Keras would answer in its own words: `Unrecognized keyword arguments`)."""
    dense = _with(DENSE, W_learning_rate_multiplier=2.0)
    response = post(client, json={"spec": _spec(EMBEDDING, LSTM, dense)})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "unmapped-keras-one-keys"
    assert body["details"]["keys"] == [
        {"layer": "dense_1", "class_name": "Dense", "key": "W_learning_rate_multiplier"}
    ]
    assert "dense_1 (Dense): W_learning_rate_multiplier=2.0" in body["message"]


def test_keras1_spec_with_mapped_keys_passes_the_check(tmp_path, warm_pool):
    """Keras 3 runs the same spec in Keras 2's words (the check's Keras 3 copy)."""
    with warm_pool.client(tmp_path) as client:
        response = post(client, json={"spec": _spec(EMBEDDING, LSTM, NOISE, DENSE, BN)})
    assert response.status_code == 201, response.text
    check = response.json()["check"]
    assert check["status"] == "passed", (check.get("code"), check.get("message"))
