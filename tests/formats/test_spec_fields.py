"""A layer config's fields are checked once, at the edge (app.safety.layer_fields): a value of
the wrong type or range is a 400 `invalid-spec` naming the layer, the field and what was
expected, all of a model's problems at once; what Keras writes (integral floats, nulls,
dtype policies as objects, Keras 1 keys) is read as it is meant."""

from __future__ import annotations

import pytest

from app.errors import InvalidSpec
from app.formats.config import parse_model
from tests.support.api import make_client


def layer(class_name: str, name: str, **config) -> dict:
    return {"module": "keras.layers", "class_name": class_name, "config": {"name": name, **config}}


def sequential(*layers: dict, batch_shape=(None, 4), dtype="float32") -> dict:
    first = layer("InputLayer", "x", batch_shape=list(batch_shape), dtype=dtype)
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "seq", "layers": [first, *layers]},
    }


def problems_of(spec: dict) -> list[dict]:
    with pytest.raises(InvalidSpec) as caught:
        parse_model(spec)
    assert caught.value.code == "invalid-spec"
    return caught.value.details["problems"]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with make_client(tmp_path_factory.mktemp("fields")) as client:
        yield client


# The type-confusion fuzz's server errors, and the nonsense that was explained -------------


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        (sequential(layer("BatchNormalization", "bn", epsilon="1e-3x")), ("bn", "epsilon")),
        (sequential(layer("BatchNormalization", "bn", momentum=[0.9])), ("bn", "momentum")),
        (sequential(batch_shape=[None, 4]) | {}, None),
        (sequential(layer("Dense", "d", units=-1)), ("d", "units")),
        (sequential(layer("Dense", "d", units=4, use_bias="yes")), ("d", "use_bias")),
        (sequential(layer("Dense", "d", units=4, activation=[1])), ("d", "activation")),
        (sequential(batch_shape=(None, -4)), ("x", "batch_shape")),
        (sequential(dtype="(-1,)f4"), ("x", "dtype")),
        (sequential(dtype="V0"), ("x", "dtype")),
        (sequential(dtype={"class_name": "DTypePolicy", "config": 1.5}), ("x", "dtype")),
        (sequential(layer("Dense", "d", units=4, dtype="1e-3x")), ("d", "dtype")),
    ],
)
def test_a_wrong_field_is_an_invalid_spec_naming_its_layer_and_field(client, spec, where):
    response = client.post("/api/v1/reports?check=false", json={"spec": spec})
    if where is None:  # the well-formed control
        assert response.status_code == 201, response.text
        return
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "invalid-spec"
    layer_name, field = where
    assert f"layer '{layer_name}'" in body["message"] and f"`{field}`" in body["message"]
    assert [(p["layer"], p["field"]) for p in body["details"]["problems"]] == [where]


def test_a_batch_shape_that_is_a_number_is_an_invalid_spec(client):
    spec = sequential()
    spec["config"]["layers"][0]["config"]["batch_shape"] = 1.5
    response = client.post("/api/v1/reports?check=false", json={"spec": spec})
    assert response.status_code == 400
    assert response.json()["details"]["problems"][0]["expected"] == (
        "a list of positive integers or nulls, or null"
    )


def test_negative_filters_before_a_batchnormalization_are_refused_not_explained(client):
    spec = sequential(
        layer("Conv1D", "conv", filters=-1, kernel_size=[1], padding="valid"),
        layer("BatchNormalization", "bn"),
        batch_shape=(None, 5, 3),
    )
    response = client.post("/api/v1/reports?check=false", json={"spec": spec})
    assert response.status_code == 400
    assert response.json()["details"]["problems"] == [
        {
            "layer": "conv",
            "class_name": "Conv1D",
            "field": "filters",
            "value": "-1",
            "expected": "a positive integer",
        }
    ]


@pytest.mark.parametrize("key", ["module", "class_name"])
def test_a_list_where_a_layer_names_its_module_or_class_is_a_4xx(client, key):
    spec = sequential(layer("Dense", "d", units=2))
    spec["config"]["layers"][1][key] = ["keras.layers"]
    response = client.post("/api/v1/reports?check=false", json={"spec": spec})
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["code"] in ("invalid-spec", "unknown-layers", "unexpected-module")


def test_every_problem_of_a_model_is_reported_at_once_nested_layers_included():
    lstm = layer("LSTM", "lstm", units=0)
    spec = sequential(
        layer("Dense", "d", units=2.5),
        layer("Dropout", "drop", rate=1.5),
        layer("Bidirectional", "bi", layer=lstm, merge_mode="concat"),
        batch_shape=(None, 3, 4),
    )
    found = [(p["layer"], p["field"], p["expected"]) for p in problems_of(spec)]
    assert found == [
        ("d", "units", "a positive integer"),
        ("drop", "rate", "a number from 0 to 1"),
        ("bi/lstm", "units", "a positive integer"),
    ]


# What Keras writes is read as it is meant ----------------------------------------------


def test_integral_floats_where_keras_has_ints_are_read_as_ints(client):
    spec = sequential(
        layer("Conv2D", "conv", filters=2.0, kernel_size=[3.0, 3.0], strides=[1.0, 1.0]),
        layer("MaxPooling2D", "pool", pool_size=[2.0, 2.0], strides=None, padding="valid"),
        batch_shape=(None, 6.0, 6.0, 1),
    )
    response = client.post("/api/v1/reports?check=false", json={"spec": spec})
    assert response.status_code == 201, response.text
    layers = {entry["name"]: entry for entry in response.json()["layers"]}
    assert layers["conv"]["params"] == 3 * 3 * 1 * 2 + 2  # 20, by hand
    assert layers["pool"]["output_shape"] == [None, 2, 2, 2]


def test_dtype_policies_as_keras_3_and_tf_keras_write_them_are_read(client):
    keras3 = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}}
    tf_keras = {"class_name": "Policy", "config": {"name": "mixed_float16"}}
    spec = sequential(
        layer("Dense", "a", units=3, dtype=keras3),
        layer("Dense", "b", units=2, dtype=tf_keras),
    )
    response = client.post("/api/v1/reports?check=false", json={"spec": spec})
    assert response.status_code == 201, response.text
    assert response.json()["totals"]["params"] == (4 * 3 + 3) + (3 * 2 + 2)


def test_a_keras_1_layer_is_checked_in_its_own_words():
    conv = {
        "class_name": "Convolution2D",
        "config": {"name": "c", "nb_filter": -2, "nb_row": 3, "nb_col": 3, "border_mode": "odd"},
    }
    found = [(p["field"], p["expected"]) for p in problems_of(sequential(conv))]
    assert found == [
        ("nb_filter", "a positive integer"),
        ("border_mode", 'one of "valid", "same", "causal", "full"'),
    ]


def test_a_custom_layer_keeps_its_own_meanings_for_known_keys():
    custom = {"class_name": "MyLayer", "config": {"name": "m", "units": "many", "axis": "x"}}
    graph = parse_model(sequential(custom))
    assert graph.layers[-1].config["units"] == "many"
    custom["config"]["name"] = ["m"]
    with pytest.raises(InvalidSpec):  # but its name is read as every layer's is
        parse_model(sequential(custom))
