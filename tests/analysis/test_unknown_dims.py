"""The size costs count the inputs' unknown dimensions at: 32 by default, set per input by
the unknown_dims option (query parameter, CLI --unknown-dims); stated in totals.unknown_dims.
Counts worked out by hand."""

from __future__ import annotations

import json

import pytest

from app.analysis.breakdown import totals
from app.analysis.costs import model_costs
from app.analysis.resolve import resolve
from app.cli import main
from app.errors import InvalidRequest
from app.formats.config import parse_model
from app.reports import parse_unknown_dims
from tests.support.api import make_client
from tests.support.kerasref import keras

L = keras.layers


def two_inputs():
    image, tokens = keras.Input((None, None, 3), name="image"), keras.Input((None,), name="tokens")
    conv = L.Conv2D(8, 3, strides=2, name="conv")(image)
    seq = L.Conv1D(2, 5, name="seq")(L.Embedding(50, 4, name="emb")(tokens))
    pooled = [L.GlobalAveragePooling2D()(conv), L.GlobalAveragePooling1D()(seq)]
    return keras.Model([image, tokens], L.Concatenate()(pooled))


def graph_of(model):
    graph = parse_model(json.loads(model.to_json()))
    resolve(graph, weights_in_file=False)
    return graph


def macs(graph, sizes=None):
    costs = model_costs(graph, sizes)
    by_name = {node.name: costs.layers[id(node)] for _, node in graph.walk()}
    return by_name["conv"].macs, by_name["seq"].macs, costs


def test_unknown_dimensions_count_as_32_with_shapes_worked_out_from_there():
    conv, seq, costs = macs(graph_of(two_inputs()))
    # conv: 32 × 32 input, stride 2, valid 3 × 3 → 15 × 15 × 8 outputs × (3 × 3 × 3)
    assert conv == 15 * 15 * 8 * 27 == 48_600
    # seq: 32 tokens, window 5 → 28 × 2 outputs × (5 × 4)
    assert seq == 28 * 2 * 20
    assert [(d.input, d.size, d.asked) for d in costs.unknown_dims] == [
        ("image", 32, False),
        ("tokens", 32, False),
    ]


def test_a_size_per_input_changes_that_input_only():
    conv, seq, costs = macs(graph_of(two_inputs()), {"image": 224})
    assert conv == 111 * 111 * 8 * 27 == 2_661_336  # (224 − 3) // 2 + 1 = 111
    assert seq == 28 * 2 * 20
    assert [(d.input, d.size, d.asked) for d in costs.unknown_dims] == [
        ("image", 224, True),
        ("tokens", 32, False),
    ]


def test_one_size_for_every_input_and_the_totals_state_it():
    graph = graph_of(two_inputs())
    conv, seq, costs = macs(graph, {"*": 64})
    assert (conv, seq) == (31 * 31 * 8 * 27, 60 * 2 * 20)
    counted = totals(graph, costs)
    assert [(d.input, d.size) for d in counted.unknown_dims] == [("image", 64), ("tokens", 64)]
    assert counted.macs == conv + seq  # the other layers: 0 MACs


def test_a_name_that_is_no_input_or_a_size_that_does_not_fit_is_refused():
    graph = graph_of(two_inputs())
    with pytest.raises(InvalidRequest, match="not an input of this model"):
        model_costs(graph, {"imgae": 224})
    with pytest.raises(InvalidRequest, match="shape it cannot take"):
        model_costs(graph, {"image": 2})  # a 3 × 3 valid window on 2 × 2
    with pytest.raises(InvalidRequest, match="between 1 and"):
        model_costs(graph, {"image": 0})


def test_a_default_size_the_model_cannot_take_counts_as_before_and_is_no_error():
    model = keras.Sequential([keras.Input((None, 2)), L.Conv1D(1, 40, name="wide")])
    costs = model_costs(graph_of(model))  # 32 steps into a window of 40: counted as 32
    assert costs.unknown_dims[0].size == 32


def test_parse_unknown_dims_reads_pairs_and_one_size():
    assert parse_unknown_dims("tokens=128, image=224") == (("tokens", 128), ("image", 224))
    assert parse_unknown_dims("224") == (("*", 224),)
    assert parse_unknown_dims("") == ()
    with pytest.raises(InvalidRequest):
        parse_unknown_dims("image=big")


def test_the_query_parameter_sets_the_size_and_a_bad_one_is_a_400(tmp_path):
    spec = two_inputs().to_json()
    with make_client(tmp_path) as client:
        response = client.post(
            "/api/v1/reports", json={"spec": spec}, params={"unknown_dims": "image=224"}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["totals"]["unknown_dims"] == [
            {"input": "image", "size": 224, "asked": True},
            {"input": "tokens", "size": 32, "asked": False},
        ]
        conv = next(layer for layer in body["layers"] if layer["name"] == "conv")
        assert conv["macs"] == 2_661_336
        assert conv["macs_formula"].startswith("111 × 111 × 8 outputs × (3 × 3 × 3)")
        default = client.post("/api/v1/reports", json={"spec": spec}).json()
        assert next(x for x in default["layers"] if x["name"] == "conv")["macs"] == 48_600
        bad = client.post("/api/v1/reports", json={"spec": spec}, params={"unknown_dims": "x=1"})
        assert bad.status_code == 400
        assert bad.json()["code"] == "invalid-request"


def test_the_cli_option_sets_the_size(tmp_path, capsys):
    path = tmp_path / "two.json"
    path.write_text(two_inputs().to_json())
    assert main(["inspect", str(path), "--unknown-dims", "image=224"]) == 0
    out = capsys.readouterr().out
    assert "unknown dimensions: image at 224, tokens at 32 (default; --unknown-dims sets it)" in out
    assert main(["inspect", str(path), "--unknown-dims", "nope=3"]) == 3
