"""A Functional chain far longer than Python's recursion limit, far below the layer limit:
every walk over the graph is iterative (a chain of 1,200 ReLU layers was a RecursionError)."""

from __future__ import annotations

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
