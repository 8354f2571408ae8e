"""A Functional graph's layer order (`keras_layers`, Keras' `map_graph` order) is worked out
once and kept while the graph stays as read: a report walks it ~15 times. The kept order
follows a graph whose layers, inputs or outputs change."""

from __future__ import annotations

from dataclasses import replace

from app.formats.config import parse_model
from app.graph import TensorRef
from tests.formats.test_deep_chain import relu_chain


def names(graph) -> list[str]:
    return [node.name for node in graph.keras_layers()]


def test_the_order_follows_outputs_that_change():
    graph = parse_model(relu_chain(3))
    assert names(graph) == ["x", "relu_0", "relu_1", "relu_2"]
    graph.outputs = [TensorRef("relu_1")]
    assert names(graph) == ["x", "relu_0", "relu_1"]


def test_the_order_follows_layers_that_change():
    graph = parse_model(relu_chain(3))
    assert names(graph) == ["x", "relu_0", "relu_1", "relu_2"]
    graph.layers = [node for node in graph.layers if node.name != "relu_2"]
    graph.outputs = [TensorRef("relu_1")]
    assert names(graph) == ["x", "relu_0", "relu_1"]


def test_a_copy_of_a_graph_has_its_own_order():
    graph = parse_model(relu_chain(3))
    assert names(graph) == ["x", "relu_0", "relu_1", "relu_2"]
    shorter = replace(graph, layers=graph.layers[:2], outputs=[TensorRef("relu_0")])
    assert names(shorter) == ["x", "relu_0"]
    assert names(graph) == ["x", "relu_0", "relu_1", "relu_2"]


def test_the_order_given_is_the_callers_to_change():
    graph = parse_model(relu_chain(2))
    graph.keras_layers().clear()
    assert names(graph) == ["x", "relu_0", "relu_1"]
