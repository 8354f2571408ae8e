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


# Keras 1.2 wrote a wrapped layer in its own keys too, and classes Keras 2 renamed.
BIDIRECTIONAL = {
    "class_name": "Bidirectional",
    "config": {
        "name": "bi",
        "batch_input_shape": [None, 5, 3],
        "merge_mode": "concat",
        "layer": {
            "class_name": "LSTM",
            "config": {"name": "lstm", "output_dim": 2, "return_sequences": True},
        },
    },
}
TIME_DISTRIBUTED = {
    "class_name": "TimeDistributed",
    "config": {
        "name": "td",
        "layer": {
            "class_name": "Dense",
            "config": {"name": "d", "output_dim": 2, "init": "glorot_uniform", "bias": True},
        },
    },
}
DECONVOLUTION = {
    "class_name": "Deconvolution2D",
    "config": {
        "name": "dc",
        "batch_input_shape": [None, 4, 4, 3],
        "nb_filter": 2,
        "nb_row": 3,
        "nb_col": 3,
        "output_shape": [None, 6, 6, 2],
        "border_mode": "valid",
        "subsample": [1, 1],
        "dim_ordering": "tf",
    },
}
ATROUS = {
    "class_name": "AtrousConvolution2D",
    "config": {
        "name": "ac",
        "nb_filter": 2,
        "nb_row": 3,
        "nb_col": 3,
        "atrous_rate": [2, 2],
        "border_mode": "valid",
        "dim_ordering": "tf",
    },
}
ATROUS_1D = {
    "class_name": "AtrousConvolution1D",
    "config": {
        "name": "ac1",
        "batch_input_shape": [None, 9, 2],
        "nb_filter": 2,
        "filter_length": 2,
        "atrous_rate": 2,
        "border_mode": "same",
        "subsample_length": 1,
    },
}
POOL_1D = {
    "class_name": "MaxPooling1D",
    "config": {"name": "p", "pool_length": 3, "stride": 3, "border_mode": "valid"},
}
UPSAMPLING_1D = {"class_name": "UpSampling1D", "config": {"name": "u", "length": 3}}
FLATTEN = {"class_name": "Flatten", "config": {"name": "f"}}
DENSE_1 = _with(DENSE, output_dim=1)


def _layers(response) -> dict[str, tuple[str, list, int]]:
    return {
        layer["name"]: (layer["class_name"], layer["output_shape"], layer["params"])
        for layer in response.json()["layers"]
    }


def test_keras1_wrapped_layers_are_read_in_keras2_words(client):
    """Before: 400, the LSTM's and the Dense's `output_dim` unread ('shapes cannot be worked
    out'). Bidirectional: 2 × LSTM 4 · 2 · (3 + 2 + 1) = 96, output 2 + 2 = 4 features;
    TimeDistributed: Dense 4 × 2 + 2 = 10, once for every timestep."""
    response = post(client, json={"spec": _spec(BIDIRECTIONAL, TIME_DISTRIBUTED)})
    assert response.status_code == 201, response.text
    assert response.json()["totals"]["params"] == 96 + 10
    layers = _layers(response)
    assert layers["bi"] == ("Bidirectional", [None, 5, 4], 96)
    assert layers["td"] == ("TimeDistributed", [None, 5, 2], 10)


def test_keras1_classes_are_read_by_the_names_keras2_gave_them(client):
    """Before: 422 unknown-layers. Deconvolution2D is Conv2DTranspose (its `output_shape`
    dropped, as Keras 2 dropped it): 3 · 3 · 2 · 3 + 2 = 56, 4 + 3 − 1 = 6 wide;
    AtrousConvolution2D is Conv2D with dilation 2: 3 · 3 · 2 · 2 + 2 = 38, the 3 × 3 kernel
    spanning 5: 6 − 5 + 1 = 2 wide."""
    response = post(client, json={"spec": _spec(DECONVOLUTION, ATROUS)})
    assert response.status_code == 201, response.text
    assert response.json()["totals"]["params"] == 56 + 38
    layers = _layers(response)
    assert layers["dc"] == ("Conv2DTranspose", [None, 6, 6, 2], 56)
    assert layers["ac"] == ("Conv2D", [None, 2, 2, 2], 38)


def test_keras1_one_dimensional_keys_are_read_in_keras2_words(client):
    """Before: `pool_length` and `stride` were refused as unmapped, and UpSampling1D's
    `length` was left unread: the layer kept its default size 2 and the model counted 25.
    AtrousConvolution1D: 2 · 2 · 2 + 2 = 10, `same` keeps 9 steps; pooling 3 by 3: 3 steps;
    upsampling by 3: 9 steps; Flatten 18; Dense 18 + 1 = 19."""
    layers = (ATROUS_1D, POOL_1D, UPSAMPLING_1D, FLATTEN, DENSE_1)
    response = post(client, json={"spec": _spec(*layers)})
    assert response.status_code == 201, response.text
    assert response.json()["totals"]["params"] == 10 + 19
    shapes = {name: shape for name, (_, shape, _) in _layers(response).items()}
    assert (shapes["ac1"], shapes["p"], shapes["u"]) == ([None, 9, 2], [None, 3, 2], [None, 9, 2])
    assert _layers(response)["ac1"][0] == "Conv1D"


def test_keras1_model_key_unread_on_a_layer_without_keras1_keys_is_named(client):
    """A layer of a Keras 1 model is read or refused even when none of its own keys shows
    Keras 1 (before: the key was dropped and the layer counted at its defaults)."""
    flatten = _with(FLATTEN, tied_to="d")
    response = post(
        client, json={"spec": _spec(_with(DENSE, batch_input_shape=[None, 4]), flatten)}
    )
    assert response.status_code == 422, response.text
    assert response.json()["details"]["keys"] == [
        {"layer": "f", "class_name": "Flatten", "key": "tied_to"}
    ]


def test_keras1_wrapped_layer_key_unread_is_named_with_its_wrapper(client):
    bidirectional = copy.deepcopy(BIDIRECTIONAL)
    bidirectional["config"]["layer"]["config"]["W_learning_rate_multiplier"] = 2.0
    response = post(client, json={"spec": _spec(bidirectional)})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["details"]["keys"] == [
        {"layer": "bi/lstm", "class_name": "LSTM", "key": "W_learning_rate_multiplier"}
    ]
    assert "bi/lstm (LSTM): W_learning_rate_multiplier=2.0" in body["message"]


def test_custom_class_with_keras1_like_keys_does_not_make_a_keras2_model_keras1(client):
    """A custom class's own `output_dim` or `init` says nothing of who wrote the model: the
    answer names the unknown class, not Keras 1 keys (a Keras 2 Flatten is not read as Keras
    1's)."""
    custom = {"class_name": "MyAttention", "config": {"name": "att", "output_dim": 4, "init": 1}}
    flatten = _with(FLATTEN, tied_to="d")
    dense = {
        "class_name": "Dense",
        "config": {"name": "d", "units": 2, "batch_input_shape": [None, 3]},
    }
    response = post(client, json={"spec": _spec(dense, flatten, custom)})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "unknown-layers"


def test_keras1_wrapped_and_renamed_classes_pass_the_check(tmp_path, warm_pool):
    """Keras 3 runs the same specs in Keras 2's words and classes (the check's Keras 3 copy
    converts what the reader converts) and computes what our reference computes."""
    specs = [
        _spec(BIDIRECTIONAL, TIME_DISTRIBUTED),
        _spec(DECONVOLUTION, ATROUS),
        _spec(ATROUS_1D, POOL_1D, UPSAMPLING_1D, FLATTEN, DENSE_1),
    ]
    with warm_pool.client(tmp_path) as client:
        responses = [post(client, json={"spec": spec}) for spec in specs]
    for response in responses:
        assert response.status_code == 201, response.text
        check = response.json()["check"]
        assert check["status"] == "passed", (check.get("code"), check.get("message"))
