"""Merging layers: the registry's output shapes against what Keras builds (no weights)."""

from __future__ import annotations

import pytest

from app.layers.registry import lookup
from tests.support.kerascompare import registry_facts
from tests.support.kerasref import keras, layer_facts

ELEMENTWISE = ["Add", "Multiply", "Average", "Maximum", "Minimum"]

BROADCAST_CASES = [
    [(None, 4), (None, 4)],
    [(None, 4), (None, 4), (None, 4)],
    [(None, 5, 4), (None, 5, 4)],
    [(None, 1, 4), (None, 5, 1)],
    [(None, 4), (None, 5, 4)],
    [(None, 5, 4), (None, 4)],
    [(None, 8, 8, 16), (None, 1, 1, 16)],
    [(None, None, 4), (None, 7, 4)],
    [(None, 1, 4), (None, None, 4)],
    [(3, 4), (None, 4)],
    [(None, 4), (3, 4)],
    [(2, 5), (2, 5)],
    [(None, 5)],
]


@pytest.mark.parametrize("class_name", ELEMENTWISE)
@pytest.mark.parametrize("shapes", BROADCAST_CASES)
def test_elementwise_merge_shapes_match_keras(class_name, shapes):
    inputs = shapes if len(shapes) > 1 else [shapes]  # one tensor still comes as a list
    expected = _merge_facts(class_name, {}, shapes)
    assert registry_facts(class_name, {}, inputs) == expected


def _merge_facts(class_name: str, config: dict, shapes: list) -> dict:
    """layer_facts, but a single input is also passed to the layer as a list."""
    if len(shapes) > 1:
        return layer_facts(class_name, config, shapes)
    layer = getattr(keras.layers, class_name)(**config)
    out = layer([keras.Input(batch_shape=shapes[0])])
    return {"weights": [], "output_shape": tuple(out.shape)}


@pytest.mark.parametrize("class_name", [*ELEMENTWISE, "Subtract"])
def test_elementwise_merge_rejects_incompatible_shapes(class_name):
    shapes = [(None, 3), (None, 4)]
    with pytest.raises(ValueError):
        layer_facts(class_name, {}, shapes)
    with pytest.raises(ValueError):
        lookup(class_name).output_shape({}, shapes)


def test_merge_rejects_different_batch_sizes():
    with pytest.raises(ValueError):
        layer_facts("Add", {}, [(2, 3), (4, 3)])
    with pytest.raises(ValueError):
        lookup("Add").output_shape({}, [(2, 3), (4, 3)])


@pytest.mark.parametrize(
    "shapes", [[(None, 4), (None, 4)], [(None, 1, 4), (None, 5, 1)], [(None, 4), (None, 5, 4)]]
)
def test_subtract_shapes_match_keras(shapes):
    assert registry_facts("Subtract", {}, shapes) == layer_facts("Subtract", {}, shapes)


def test_subtract_rejects_three_inputs():
    with pytest.raises(ValueError):
        lookup("Subtract").output_shape({}, [(None, 4)] * 3)


@pytest.mark.parametrize(
    ("op", "shapes"),
    [
        ("add", [(None, 1, 1, 16)]),
        ("multiply", [(None, 8, 8, 4)]),
        ("add", [(None, 8, 8, 4), (None, 8, 8, 4)]),
        ("multiply", [(None, 8, 8, 4), (None, 1, 1, 4)]),
    ],
)
def test_tensor_arithmetic_operation_shapes_match_keras(op, shapes):
    """`x + 3.0` and `a * b` in a Keras 3 config: class Add/Multiply, only tensors as inputs."""
    tensors = [keras.Input(batch_shape=s) for s in shapes]
    other = tensors[1] if len(tensors) > 1 else 3.0
    out = getattr(keras.ops, op)(tensors[0], other)
    class_name = type(out._keras_history.operation).__name__
    assert lookup(class_name).output_shape({}, shapes) == tuple(out.shape)


CONCATENATE_CASES = [
    ({}, [(None, 4), (None, 3)]),
    ({"axis": -1}, [(None, 5, 4), (None, 5, 3), (None, 5, 1)]),
    ({"axis": 1}, [(None, 5, 4), (None, 2, 4)]),
    ({"axis": 1}, [(None, None, 4), (None, 2, 4)]),
    ({"axis": 2}, [(None, 5, None), (None, 5, 3)]),
    ({"axis": 3}, [(None, 8, 8, 16), (None, 8, 8, 32)]),
    ({"axis": 1}, [(None, 16, 8, 8), (None, 32, 8, 8)]),
    ({"axis": -2}, [(None, 3, 4), (None, 2, 4)]),
    ({"axis": 0}, [(2, 3), (3, 3)]),
    ({}, [(None, 4)]),
]


@pytest.mark.parametrize(("config", "shapes"), CONCATENATE_CASES)
def test_concatenate_shapes_match_keras(config, shapes):
    inputs = shapes if len(shapes) > 1 else [shapes]
    assert registry_facts("Concatenate", config, inputs) == _merge_facts(
        "Concatenate", config, shapes
    )


DOT_CASES = [
    ({"axes": 1}, [(None, 4), (None, 4)]),
    ({"axes": -1}, [(None, 4), (None, 4)]),
    ({"axes": [1, 2]}, [(None, 3, 5), (None, 10, 3)]),
    ({"axes": 2}, [(None, 3, 5), (None, 4, 5)]),
    ({"axes": -1}, [(None, 3, 5), (None, 5)]),
    ({"axes": [-1, -2]}, [(None, 3, 5), (None, 5, 2)]),
    ({"axes": (2, 1), "normalize": True}, [(None, 3, 5), (None, 5, 2)]),
    ({"axes": 1, "normalize": True}, [(2, 6), (2, 6)]),
]


@pytest.mark.parametrize(("config", "shapes"), DOT_CASES)
def test_dot_shapes_match_keras(config, shapes):
    assert registry_facts("Dot", config, shapes) == layer_facts("Dot", config, shapes)


def test_dot_rejects_mismatched_axes():
    shapes = [(None, 3, 5), (None, 4, 6)]
    with pytest.raises(ValueError):
        layer_facts("Dot", {"axes": 2}, shapes)
    with pytest.raises(ValueError):
        lookup("Dot").output_shape({"axes": 2}, shapes)


def test_dot_vector_output_gets_trailing_one_by_hand():
    assert lookup("Dot").output_shape({"axes": 1}, [(None, 4), (None, 4)]) == (None, 1)


@pytest.mark.parametrize(
    ("op", "shapes", "kwargs"),
    [("average", [(None, 4, 5)], {"axis": 1}), ("dot", [(None, 4, 5), (None, 5, 3)], {})],
)
def test_same_named_operations_with_other_meanings_are_refused(op, shapes, kwargs):
    """`ops.average(x, axis)` reduces and `ops.dot` is NumPy's dot: not the merge layers."""
    tensors = [keras.Input(batch_shape=s) for s in shapes]
    out = getattr(keras.ops, op)(*tensors, **kwargs)
    operation = out._keras_history.operation
    config = keras.saving.serialize_keras_object(operation)["config"]
    with pytest.raises(ValueError):
        lookup(type(operation).__name__).output_shape(config, shapes)
