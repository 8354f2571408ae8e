"""Specs as people keep them around the model's config: a TensorFlow.js Layers model.json (the
converter's, with `model_config`, and TensorFlow.js' own `model.save`), a legacy HDF5 file's
attributes dumped to JSON, and to_json()'s text json.dump'ed once more; a TensorFlow.js graph
model is named for what it is. Counts worked out by hand; the checks run Keras."""

from __future__ import annotations

import json

import pytest

from tests.support.api import post

# Dense(8 → 4): 8·4 + 4 = 36; BatchNormalization(4): gamma, beta 8 trainable, moving mean and
# variance 8 non-trainable; Dense(4 → 1): 4 + 1 = 5. Total 57, of which 8 non-trainable.
LAYERS = [
    {
        "class_name": "InputLayer",
        "config": {"batch_input_shape": [None, 8], "dtype": "float32", "name": "dense_input"},
    },
    {"class_name": "Dense", "config": {"name": "dense", "units": 4, "activation": "relu"}},
    {"class_name": "BatchNormalization", "config": {"name": "bn", "axis": [1], "epsilon": 0.001}},
    {"class_name": "Dense", "config": {"name": "dense_1", "units": 1, "activation": "sigmoid"}},
]
MODEL = {"class_name": "Sequential", "config": {"name": "sequential", "layers": LAYERS}}
TOTALS = {"params": 57, "trainable": 49, "non_trainable": 8}
MANIFEST = [{"paths": ["group1-shard1of1.bin"], "weights": [{"name": "dense/kernel"}]}]
# tensorflowjs_converter --input_format keras: the .h5 file's attributes as the topology.
CONVERTED = {
    "format": "layers-model",
    "generatedBy": "keras v2.12.0",
    "convertedBy": "TensorFlow.js Converter v4.6.0",
    "modelTopology": {
        "keras_version": "2.12.0",
        "backend": "tensorflow",
        "model_config": MODEL,
        "training_config": {"loss": "binary_crossentropy", "optimizer_config": {}},
    },
    "weightsManifest": MANIFEST,
}
# TensorFlow.js' own model.save(): the model config is the topology.
SAVED_BY_TFJS = {
    "format": "layers-model",
    "generatedBy": "TensorFlow.js tfjs-layers v4.22.0",
    "convertedBy": None,
    "modelTopology": {**MODEL, "keras_version": "tfjs-layers 4.22.0", "backend": "tensor_flow.js"},
    "weightsManifest": MANIFEST,
}
HDF5_ATTRIBUTES = {"keras_version": "2.4.0", "backend": "tensorflow", "model_config": MODEL}
JSON_IN_JSON = json.dumps(json.dumps({**MODEL, "keras_version": "2.4.0"}))
FORMS = {  # the spec as uploaded, the writer's version the report must give
    "tfjs-converted": (json.dumps(CONVERTED), "2.12.0"),
    "tfjs-saved": (json.dumps(SAVED_BY_TFJS), "tfjs-layers 4.22.0"),
    "hdf5-attributes": (json.dumps(HDF5_ATTRIBUTES), "2.4.0"),
    "json-in-json": (JSON_IN_JSON, "2.4.0"),
}


@pytest.fixture(scope="module")
def client(tmp_path_factory, warm_pool):
    with warm_pool.client(tmp_path_factory.mktemp("wrapped")) as client:
        yield client


def _upload(client, text: str, **params):
    files = {"file": ("model.json", text.encode())}
    return client.post("/api/v1/reports", files=files, params=params)


@pytest.mark.parametrize("form", sorted(FORMS))
def test_wrapped_spec_is_explained_from_its_model_config(client, form):
    text, version = FORMS[form]
    response = _upload(client, text, check="false")
    assert response.status_code == 201, response.json()
    report = response.json()
    assert {k: report["totals"][k] for k in TOTALS} == TOTALS
    assert report["source"]["keras_version"] == version
    assert [layer["name"] for layer in report["layers"]] == ["dense", "bn", "dense_1"]
    bn = report["layers"][1]
    assert [(w["name"], w["trainable"]) for w in bn["weights"]] == [
        ("gamma", True),
        ("beta", True),
        ("moving_mean", False),
        ("moving_variance", False),
    ]


def test_tfjs_model_says_its_weights_were_not_read(client):
    report = _upload(client, json.dumps(CONVERTED), check="false").json()
    [warning] = [w for w in report["warnings"] if "TensorFlow.js" in w]
    assert "written by keras v2.12.0, converted by TensorFlow.js Converter v4.6.0" in warning
    assert "weightsManifest" in warning and "not sent" in warning


@pytest.mark.parametrize("form", ["tfjs-converted", "json-in-json"])
def test_wrapped_spec_check_passes(client, form):
    """Keras is given the model config inside: before, the JSON-in-JSON file's check ended
    in a worker error (model_from_json was given a string) and a model.json was refused."""
    response = _upload(client, FORMS[form][0], wait="true")
    assert response.status_code == 201, response.json()
    check = response.json()["check"]
    assert check["status"] == "passed", check
    assert [layer["verdict"] for layer in check["layers"]] == ["passed"] * 3


def test_wrapped_spec_in_the_spec_field(client):
    response = post(client, json={"spec": CONVERTED, "check": False})
    assert response.status_code == 201, response.json()
    assert response.json()["totals"]["params"] == 57


def test_tfjs_graph_model_is_415_naming_it(client):
    graph_model = {
        "format": "graph-model",
        "generatedBy": "2.15.0",
        "convertedBy": "TensorFlow.js Converter v4.17.0",
        "modelTopology": {"node": [{"name": "x", "op": "Placeholder"}], "library": {}},
        "weightsManifest": [],
    }
    response = _upload(client, json.dumps(graph_model))
    assert response.status_code == 415
    body = response.json()
    assert body["code"] == "unsupported-format"
    assert "TensorFlow.js graph model" in body["message"]
