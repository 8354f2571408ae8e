"""Config variants the parser must read: Keras 2 and Keras 3 inbound nodes, tensor kwargs."""

from __future__ import annotations

import json

import pytest

from app.analysis.breakdown import totals
from app.analysis.resolve import resolve
from app.errors import InvalidSpec, UnknownLayers
from app.formats.config import parse_model
from tests.support.kerasref import keras


def resolved(config):
    graph = parse_model(config)
    resolve(graph, weights_in_file=False)
    return graph


def test_parse_keras3_mask_kwarg_is_a_parent_not_a_data_input():
    query = keras.Input((5, 8))
    mask = keras.Input((5, 5))
    out = keras.layers.MultiHeadAttention(2, 4)(query, query, attention_mask=mask)
    model = keras.Model([query, mask], out)
    graph = resolved(json.loads(model.to_json()))
    mha = graph.layer(model.layers[-1].name)
    assert mha.output_shapes == [(None, 5, 8)]
    assert [ref.layer for ref in mha.call_extras[0]] == [model.layers[1].name]
    assert totals(graph).params == model.count_params()


def test_parse_keras2_value_kwarg_is_a_data_input():
    config = {
        "class_name": "Model",
        "config": {
            "name": "m",
            "layers": [
                {
                    "name": "x",
                    "class_name": "InputLayer",
                    "config": {"batch_input_shape": [None, 5, 8], "name": "x"},
                    "inbound_nodes": [],
                },
                {
                    "name": "mha",
                    "class_name": "MultiHeadAttention",
                    "config": {"name": "mha", "num_heads": 2, "key_dim": 4},
                    "inbound_nodes": [[["x", 0, 0, {"value": ["x", 0, 0]}]]],
                },
            ],
            "input_layers": [["x", 0, 0]],
            "output_layers": [["mha", 0, 0]],
        },
    }
    graph = resolved(config)
    # query, key, value: 3 × (8 × 2 × 4 + 2 × 4); output: 2 × 4 × 8 + 8 (by hand)
    assert totals(graph).params == 3 * (64 + 8) + 72
    assert len(graph.layer("mha").calls[0]) == 2


def test_parse_keras20_sequential_as_bare_list_with_input_dim():
    config = {
        "class_name": "Sequential",
        "config": [{"class_name": "Dense", "config": {"name": "d", "units": 3, "input_dim": 7}}],
    }
    graph = resolved(config)
    assert totals(graph).params == 7 * 3 + 3


def test_parse_connection_to_missing_layer_is_invalid_spec():
    config = {
        "class_name": "Functional",
        "config": {
            "name": "m",
            "layers": [
                {"name": "d", "class_name": "Dense", "config": {"units": 2},
                 "inbound_nodes": [[["ghost", 0, 0, {}]]]},
            ],
            "input_layers": [["d", 0, 0]],
            "output_layers": [["d", 0, 0]],
        },
    }  # fmt: skip
    with pytest.raises(InvalidSpec, match="ghost"):
        parse_model(config)


@pytest.mark.parametrize("bad", [None, [], "text", {"config": {}}, {"class_name": "Dense"}])
def test_parse_non_model_objects_are_invalid_spec(bad):
    with pytest.raises(InvalidSpec):
        parse_model(bad)


def test_spec_with_unknown_class_inside_a_wrapper_is_refused_with_its_name():
    model = keras.Sequential(
        [keras.Input((3, 4)), keras.layers.TimeDistributed(keras.layers.Dense(2))]
    )
    config = json.loads(model.to_json())
    config["config"]["layers"][1]["config"]["layer"]["class_name"] = "MyCustomDense"
    with pytest.raises(UnknownLayers) as caught:
        resolved(config)
    assert caught.value.details == {"classes": ["MyCustomDense"]}
