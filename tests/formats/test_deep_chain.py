"""A Functional chain far longer than Python's recursion limit, as long as the layer limit:
every walk over the graph is iterative — reading, the report, its page, the reference
forward (a chain of 1,200 ReLU layers was a RecursionError)."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.reference import run_reference
from app.analysis.resolve import resolve
from app.formats.config import parse_model
from app.graph import topological_calls
from tests.support.api import make_client


def relu_chain(length: int) -> dict:
    layers = [
        {
            "class_name": "InputLayer",
            "name": "x",
            "config": {"name": "x", "batch_shape": [None, 4]},
            "inbound_nodes": [],
        }
    ]
    for i in range(length):
        before = layers[-1]["name"]
        layers.append(
            {
                "class_name": "ReLU",
                "name": f"relu_{i}",
                "config": {"name": f"relu_{i}"},
                "inbound_nodes": [[[before, 0, 0, {}]]],
            }
        )
    return {
        "class_name": "Functional",
        "config": {
            "name": "chain",
            "layers": layers,
            "input_layers": [["x", 0, 0]],
            "output_layers": [[layers[-1]["name"], 0, 0]],
        },
    }


def test_a_chain_of_9000_layers_is_ordered_input_first():
    graph = parse_model(relu_chain(9000))
    names = [node.name for node in graph.keras_layers()]
    assert names == ["x", *(f"relu_{i}" for i in range(9000))]
    calls = [node.name for node, _ in topological_calls(graph)]
    assert calls == names


def test_a_chain_of_1200_relu_layers_is_explained_through_the_api(tmp_path):
    with make_client(tmp_path) as client:
        response = client.post("/api/v1/reports?check=false", json={"spec": relu_chain(1200)})
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["totals"]["layers"] == 1201 and report["totals"]["params"] == 0
    assert report["layers"][-1]["name"] == "relu_1199"
    assert report["model"]["outputs"][0]["shape"] == [None, 4]


LENGTHS = [1200, pytest.param(10_000, marks=pytest.mark.slow)]  # 10,000: about 30 s each


@pytest.mark.parametrize("length", LENGTHS)
def test_the_reference_forward_runs_a_chain_of_relu_layers(length):
    graph = parse_model(relu_chain(length))
    resolve(graph, weights_in_file=False)
    x = np.array([[-1.5, 0.0, 2.0, -0.25]], dtype=np.float32)
    run = run_reference(graph, [], [x])
    np.testing.assert_array_equal(run.outputs[0], [[0.0, 0.0, 2.0, 0.0]])  # relu(x), by hand


@pytest.mark.parametrize("length", LENGTHS)
def test_the_report_and_its_page_of_a_chain_of_relu_layers(tmp_path, length):
    with make_client(tmp_path) as client:
        response = client.post("/api/v1/reports?check=false", json={"spec": relu_chain(length)})
        assert response.status_code == 201, response.text
        page = client.get(f"/reports/{response.json()['id']}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert f"relu_{length - 1}" in page.text
    assert response.json()["totals"]["layers"] == length + 1
