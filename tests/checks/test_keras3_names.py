"""Layer names with `/` (tf.keras ports: YAMNet's `layer1/conv/bn`), which Keras 3 refuses:
the check's Keras 3 copy renames them, and the report shows the file's own names.

The files are the writer matrix's (tests/writers/files/tf_keras-2.21/slash_*.{h5,json},
written by tf_keras 2.21, which accepts such names); Keras 3.15.1 loads none of them as
written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.check.keras import JobRequest, JobResult
from app.check.keras.jobs import JobFailed, LayerOutputs
from app.check.keras.loading import explain_load_failure, load_model
from app.check.keras3_copy import sanitize
from app.check.keras3_names import keras3_names, rename_refused
from app.check.keras_side import in_file_names
from tests.support.api import post, post_file
from tests.support.kerasref import keras

FILES = Path(__file__).parents[1] / "writers" / "files" / "tf_keras-2.21"


def _functional(layers: list, inputs: list, outputs: list, name: str = "m/x") -> dict:
    return {
        "class_name": "Functional",
        "config": {
            "name": name,
            "layers": layers,
            "input_layers": inputs,
            "output_layers": outputs,
        },
    }


def _layer(class_name: str, name: str, inbound: list, **config) -> dict:
    return {
        "class_name": class_name,
        "name": name,
        "config": {"name": name, **config},
        "inbound_nodes": inbound,
    }


def test_keras3_names_replace_slash_and_avoid_names_taken():
    config = _functional(
        [
            _layer("InputLayer", "in/x", []),
            _layer("Dense", "a/b", [[["in/x", 0, 0, {}]]]),
            _layer("Dense", "a_b", [[["a/b", 0, 0, {}]]]),
        ],
        [["in/x", 0, 0]],
        [["a_b", 0, 0]],
    )
    assert keras3_names(config) == {"a/b": "a_b_1", "in/x": "in_x", "m/x": "m_x"}


def test_rename_reaches_every_reference_and_wrapped_layer():
    inner = {"class_name": "LSTM", "config": {"name": "rnn/lstm", "units": 2}}
    config = _functional(
        [
            _layer("InputLayer", "in/x", []),
            _layer("Bidirectional", "rnn/bi", [[["in/x", 0, 0, {}]]], layer=inner),
            # a keyword tensor (MultiHeadAttention's value) is a reference too
            _layer(
                "MultiHeadAttention", "att/mha", [[["rnn/bi", 0, 0, {"value": ["in/x", 0, 0]}]]]
            ),
            _layer(
                "Dense",
                "k3/dense",
                [{"args": [{"config": {"keras_history": ["att/mha", 0, 0]}}], "kwargs": {}}],
            ),
        ],
        [["in/x", 0, 0]],
        [["k3/dense", 0, 0]],
    )
    done = rename_refused(config)
    text = json.dumps(config)
    assert "/" not in text
    layers = config["config"]["layers"]
    assert layers[1]["config"]["layer"]["config"]["name"] == "rnn_lstm"
    assert layers[2]["inbound_nodes"] == [[["rnn_bi", 0, 0, {"value": ["in_x", 0, 0]}]]]
    assert layers[3]["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] == "att_mha"
    assert config["config"]["output_layers"] == [["k3_dense", 0, 0]]
    assert ("rnn/lstm", "LSTM", "rnn_lstm") in done
    assert ("m/x", "Functional", "m_x") in done
    assert len(done) == 6  # five layers and the model, each once


def test_an_objects_name_of_any_json_type_is_left_alone():
    # Found by bench/fuzz_specs.py: an initializer's config `name` (unchecked, any JSON) that
    # is a list made the renaming's lookup fail (a 500).
    initializer = {"class_name": "GlorotUniform", "config": {"name": ["a/b"], "seed": None}}
    config = _functional(
        [
            _layer("InputLayer", "in/x", []),
            _layer("Dense", "d", [[["in/x", 0, 0, {}]]], kernel_initializer=initializer),
        ],
        [["in/x", 0, 0]],
        [["d", 0, 0]],
    )
    assert sorted(rename_refused(config)) == [
        ("in/x", "InputLayer", "in_x"),
        ("m/x", "Functional", "m_x"),
    ]
    assert initializer["config"]["name"] == ["a/b"]


def test_names_without_slash_give_no_rewrite():
    config = _functional([_layer("InputLayer", "x", [])], [["x", 0, 0]], [["x", 0, 0]], "m")
    _, removed, _ = sanitize(config)
    assert removed == []


def test_keras_answer_is_read_back_under_the_file_names():
    result = JobResult(
        status="ok",
        layers=[
            LayerOutputs(name="layer1_conv", class_name="Conv1D", outputs=["o/0.npy"], shapes=[]),
            LayerOutputs(
                name="layer1_conv_bn", class_name="BatchNormalization", outputs=[], shapes=[]
            ),
            LayerOutputs(name="logits", class_name="Dense", outputs=[], shapes=[]),
        ],
        notes=["layer1_conv_bn is called 2 times: its outputs are listed call by call."],
    )
    names = {"layer1_conv": "layer1/conv", "layer1_conv_bn": "layer1/conv/bn"}
    back = in_file_names(result, names)
    assert [layer.name for layer in back.layers] == ["layer1/conv", "layer1/conv/bn", "logits"]
    assert back.notes == ["layer1/conv/bn is called 2 times: its outputs are listed call by call."]


def test_keras3_refusing_a_name_is_said_with_its_name():
    with pytest.raises(ValueError) as raised:  # Keras' own refusal, not a message of ours
        keras.layers.Dense(2, name="layer1/conv/bn")
    message, reason = explain_load_failure(raised.value)
    assert reason == {"kind": "refused-name", "name": "layer1/conv/bn"}
    assert message.startswith('Keras 3 refuses layer names containing "/"')
    assert "layer1/conv/bn" in message


def test_a_spec_keras_gets_unrenamed_ends_with_keras3_refuses_name(tmp_path):
    """The worker, given a config with a `/` name (what would reach it if the copy missed one),
    ends with the specific code, not a generic load failure."""
    spec = tmp_path / "model.json"
    spec.write_text((FILES / "slash_names.json").read_text())
    request = JobRequest(
        job_dir=str(tmp_path),
        model_path=str(spec),
        kind="spec",
        inputs_path=str(tmp_path / "x.npz"),
    )
    with pytest.raises(JobFailed) as failed:
        load_model(keras, request, [])
    assert failed.value.result.code == "keras3-refuses-name"
    assert failed.value.result.reason["name"] in {"waveform/frames", "yamnet/like"}


@pytest.fixture(scope="module")
def client(tmp_path_factory, warm_pool):
    with warm_pool.client(tmp_path_factory.mktemp("names")) as client:
        yield client


@pytest.mark.parametrize(
    ("name", "layers"),
    [
        ("slash_names.h5", ["layer1/conv", "layer1/conv/bn", "rnn/bi", "shared/dense"]),
        ("slash_nested.h5", ["dense/dense_1", "encoder/block", "head/dense"]),
        ("slash_names.json", ["layer1/conv", "layer1/conv/bn", "rnn/bi", "shared/dense"]),
    ],
)
def test_check_passes_under_the_file_names(client, name, layers):
    path = FILES / name
    if path.suffix == ".json":
        response = post(client, json={"spec": path.read_text()})
    else:
        response = post_file(client, path)
    assert response.status_code == 201, response.text
    check = response.json()["check"]
    assert check["status"] == "passed", (check.get("code"), check.get("message"))
    compared = {layer["name"]: layer["verdict"] for layer in check["layers"]}
    assert all(compared[layer] == "passed" for layer in layers)
    assert all(layer.replace("/", "_") not in compared for layer in layers)  # never the copy's
    renamed = layers[1].replace("/", "_")
    assert any(f"{layers[1]} (" in note and f"named {renamed}" in note for note in check["notes"])
