"""A Keras 2 model's references to its nested models' calls, in the Keras 3 copy: the reader
decides which nested models the file counts from 1 (app.safety.model_config), and the copy
writes those references as Keras 3.15 reads them (app.check.keras3_copy)."""

from __future__ import annotations

import json

from keras.src.legacy.saving import saving_utils  # noqa: E402  (how Keras 3 reads an .h5's config)

from app.check.keras3_copy import sanitize
from app.safety.model_config import check_model_config
from tests.support.kerasref import keras  # noqa: F401  (its environment first)


def _input(name: str) -> dict:
    config = {"name": name, "batch_input_shape": [None, 2], "dtype": "float32"}
    return {"class_name": "InputLayer", "name": name, "config": config, "inbound_nodes": []}


def _dense(name: str, inbound: list) -> dict:
    config = {"name": name, "units": 2, "dtype": "float32"}
    return {"class_name": "Dense", "name": name, "config": config, "inbound_nodes": inbound}


def keras2_config() -> dict:
    """Inputs a, b; a nested Functional `enc` called on each (Keras 2 counts its calls from 1:
    nodes 1 and 2); a nested Sequential `seq` called once, its reference written as node 1;
    outputs: Add(enc(a), enc(b)), enc(b), seq(enc(a))."""
    enc = {
        "class_name": "Model",
        "name": "enc",
        "config": {
            "name": "enc",
            "layers": [_input("enc_in"), _dense("enc_dense", [[["enc_in", 0, 0, {}]]])],
            "input_layers": [["enc_in", 0, 0]],
            "output_layers": [["enc_dense", 0, 0]],
        },
        "inbound_nodes": [[["a", 0, 0, {}]], [["b", 0, 0, {}]]],
    }
    seq_layers = [{"class_name": "Dense", "config": {"name": "seq_dense", "units": 2}}]
    seq = {
        "class_name": "Sequential",
        "name": "seq",
        "config": {"name": "seq", "layers": seq_layers},
        "inbound_nodes": [[["enc", 1, 0, {}]]],
    }
    add = {
        "class_name": "Add",
        "name": "add",
        "config": {"name": "add"},
        "inbound_nodes": [[["enc", 1, 0, {}], ["enc", 2, 0, {}]]],
    }
    layers = [_input("a"), _input("b"), enc, seq, add]
    outputs = [["add", 0, 0], ["enc", 2, 0], ["seq", 1, 0]]
    config = {"name": "outer", "layers": layers, "input_layers": [["a", 0, 0], ["b", 0, 0]]}
    return {"class_name": "Model", "config": {**config, "output_layers": outputs}}


def test_reader_finds_which_nested_models_count_from_one():
    model = check_model_config(keras2_config())
    assert model.keras2_nodes
    assert model.counted_from_one == {"enc", "seq"}


def test_keras3_copy_writes_nested_calls_as_keras3_reads_them():
    copy, _, _ = sanitize(keras2_config())
    layers = {item["name"]: item for item in copy["config"]["layers"]}
    assert layers["add"]["inbound_nodes"] == [[["enc", 0, 0, {}], ["enc", 1, 0, {}]]]
    assert layers["seq"]["inbound_nodes"] == [[["enc", 0, 0, {}]]]
    # Keras 3 takes one off a Functional's endpoint, none off a Sequential's.
    assert copy["config"]["output_layers"] == [["add", 0, 0], ["enc", 2, 0], ["seq", 0, 0]]


def test_keras3_copy_is_wired_as_the_keras2_model_was():
    copy, _, _ = sanitize(keras2_config())
    model = saving_utils.model_from_config(json.loads(json.dumps(copy)))
    enc, seq = model.get_layer("enc"), model.get_layer("seq")
    enc_b = enc._inbound_nodes[1].output_tensors[0]  # enc(b): its second call
    assert model.outputs[1] is enc_b
    assert model.outputs[2] is seq._inbound_nodes[0].output_tensors[0]
    add_inputs = model.get_layer("add")._inbound_nodes[0].input_tensors
    assert add_inputs[0] is enc._inbound_nodes[0].output_tensors[0]
    assert add_inputs[1] is enc_b
