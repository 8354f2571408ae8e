"""Specs (`model.to_json()`): object, string and JSON-in-JSON, Keras 3 and Keras 2 forms."""

from __future__ import annotations

import json

import pytest

from app.errors import InvalidSpec, UnknownLayers
from app.formats import read_model, read_spec
from tests.support.kerascompare import assert_weights_match_keras, resolved, totals
from tests.support.kerasref import keras
from tests.support.models import BUILDERS, KERAS2_FUNCTIONAL, KERAS2_SEQUENTIAL, build


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_read_spec_string_matches_keras(name):
    model = build(name)
    with read_spec(model.to_json()) as loaded:
        assert loaded.format == "spec_json"
        assert_weights_match_keras(resolved(loaded), model, values=False)


@pytest.mark.parametrize("form", ["object", "string", "json_in_json"])
def test_read_spec_accepts_each_form(form):
    model = build("functional_in_sequential")
    text = model.to_json()
    spec = {"object": json.loads(text), "string": text, "json_in_json": json.dumps(text)}[form]
    with read_spec(spec) as loaded:
        assert_weights_match_keras(resolved(loaded), model, values=False)


def test_read_spec_leaves_every_layer_without_stored_weights():
    with read_spec(build("sequential_in_functional").to_json()) as loaded:
        assert all(node.stored is None for _, node in loaded.graph.walk())


def test_read_spec_keras2_sequential_counts_by_hand():
    with read_spec(KERAS2_SEQUENTIAL) as loaded:
        assert (loaded.keras_version, loaded.backend) == ("2.4.0", "tensorflow")
        assert totals(resolved(loaded)) == (32, 24, 8)


def test_read_spec_keras2_functional_counts_shared_layer_once():
    with read_spec(KERAS2_FUNCTIONAL) as loaded:
        assert loaded.keras_version == "2.2.4"
        assert totals(resolved(loaded)) == (15, 15, 0)


def test_read_spec_keras3_has_no_writer_version():
    with read_spec(build("dense_bn").to_json()) as loaded:
        assert (loaded.keras_version, loaded.backend) == (None, None)


def test_read_model_reads_spec_file_with_bom_and_whitespace(tmp_path):
    model = build("dense_bn")
    path = tmp_path / "model.keras"  # the name says .keras, the bytes say JSON
    path.write_bytes(b"\xef\xbb\xbf \n\t" + model.to_json().encode())
    with read_model(path) as loaded:
        assert loaded.format == "spec_json"
        assert_weights_match_keras(resolved(loaded), model, values=False)


def test_read_spec_invalid_json_names_line_and_column():
    with pytest.raises(InvalidSpec, match=r"line 1, column 2") as info:
        read_spec("{oops}")
    assert info.value.code == "invalid-spec"
    assert isinstance(info.value.__cause__, json.JSONDecodeError)


@pytest.mark.parametrize("spec", ["[1, 2]", "42", json.dumps("[1]"), "null"])
def test_read_spec_non_object_is_invalid(spec):
    with pytest.raises(InvalidSpec, match="JSON object"):
        read_spec(spec)


def test_read_spec_deeply_nested_json_is_invalid():
    with pytest.raises(InvalidSpec, match="nested too deeply"):
        read_spec("[" * 100_000 + "]" * 100_000)


def test_read_spec_layer_instead_of_model_is_invalid():
    with pytest.raises(InvalidSpec, match="not a model"):
        read_spec({"class_name": "Dense", "config": {"units": 3}})


def test_read_model_spec_file_not_utf8_is_invalid(tmp_path):
    path = tmp_path / "spec.json"
    path.write_bytes(b'{"class_name": "\xff\xfe"}')
    with pytest.raises(InvalidSpec, match="not UTF-8"):
        read_model(path)


def test_read_spec_unknown_class_is_refused_by_resolve():
    spec = json.loads(build("dense_bn").to_json())
    spec["config"]["layers"][1]["class_name"] = "QDense"
    with read_spec(spec) as loaded, pytest.raises(UnknownLayers, match="QDense"):
        resolved(loaded)


@pytest.mark.parametrize("cell", ["LSTMCell", "GRUCell", "SimpleRNNCell"])
def test_read_spec_rnn_over_a_cell_matches_keras(cell):
    model = keras.Sequential(
        [keras.Input((5, 3)), keras.layers.RNN(getattr(keras.layers, cell)(4))]
    )
    with read_spec(model.to_json()) as loaded:
        assert loaded.refusals == []
        assert_weights_match_keras(resolved(loaded), model, values=False)
