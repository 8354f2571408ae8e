"""Keras operations that move array elements (`x[:, 0]`, `ops.reshape`, `ops.concatenate`,
...): read from a Functional config, no weights, output shapes equal to what Keras builds,
unknown sizes included."""

from __future__ import annotations

import pytest

from app.analysis.resolve import resolve
from app.formats import read_spec
from app.layers.registry import lookup
from tests.support.array_operations import CASES
from tests.support.kerasref import keras

ops = keras.ops


def keras_op_shapes(model) -> dict[str, tuple]:
    """Every operation's output shape as Keras built it (the operations not layers): a list
    of shapes for an operation with several outputs (Split)."""
    found = {}
    for op in model.operations:
        if not isinstance(op, keras.layers.Layer):
            shapes = [tuple(t.shape) for t in op._inbound_nodes[0].output_tensors]
            found[op.name] = shapes if len(shapes) > 1 else shapes[0]
    return found


@pytest.mark.parametrize("case", sorted(CASES))
def test_operation_output_shape_is_what_keras_builds(case):
    shape, function = CASES[case]
    x = keras.Input(batch_shape=shape)
    model = keras.Model(x, function(x))
    expected = keras_op_shapes(model)
    with read_spec(model.to_json()) as loaded:
        assert loaded.refusals == []
        graph = loaded.graph
        resolve(graph, weights_in_file=False)
    ours = {n.name: n.output_shapes[0] for n in graph.layers if n.is_operation}
    assert ours == expected
    for node in graph.layers:
        if node.is_operation:
            assert lookup(node.class_name).weights({}, [shape]) == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_operation_that_declares_its_keys_declares_every_key_keras_writes(case):
    """`operation_name` reads a legacy `.h5` config as the operation only when it holds no
    key the operation does not declare."""
    shape, function = CASES[case]
    x = keras.Input(batch_shape=shape)
    model = keras.Model(x, function(x))
    for op in model.operations:
        entry = lookup(f"ops.{type(op).__name__}")
        if not isinstance(op, keras.layers.Layer) and entry.fields:
            assert set(op.get_config()) - {"name"} <= set(entry.fields), op.name


def test_concatenate_call_keeps_its_list_of_tensors():
    """Before, the whole list argument became one `{"tensor": 0}`, as if it were a tensor."""
    x = keras.Input((3, 4))
    model = keras.Model(x, ops.concatenate([x, ops.flip(x, 1), x], axis=1))
    with read_spec(model.to_json()) as loaded:
        [node] = [n for n in loaded.graph.layers if n.class_name == "ops.Concatenate"]
    assert node.config["call_args"] == [[{"tensor": 0}, {"tensor": 1}, {"tensor": 2}]]


def test_take_with_a_tensor_of_indices_has_the_shape_keras_builds():
    x = keras.Input((3, 4))
    indices = keras.Input((2,), dtype="int32")
    model = keras.Model([x, indices], ops.take(x, indices, axis=1))
    with read_spec(model.to_json()) as loaded:
        graph = loaded.graph
        resolve(graph, weights_in_file=False)
    [node] = [n for n in graph.layers if n.is_operation]
    assert {node.name: node.output_shapes[0]} == keras_op_shapes(model)


def _legacy_entry(class_name: str, config: dict, parent: str = "x") -> dict:
    """A layer config as a hand-written spec or an old `.h5` file keeps it: no `dtype`, no
    `trainable`, no `module`."""
    name = config["name"]
    return {"class_name": class_name, "config": config, "name": name,
            "inbound_nodes": [[[parent, 0, 0, {}]]]}  # fmt: skip


def _legacy_spec(*entries: dict) -> dict:
    x = {"class_name": "InputLayer", "name": "x", "inbound_nodes": [],
         "config": {"name": "x", "batch_input_shape": [None, 12]}}  # fmt: skip
    last = entries[-1]["name"]
    return {"class_name": "Functional", "config": {"name": "m", "layers": [x, *entries],
            "input_layers": [["x", 0, 0]], "output_layers": [[last, 0, 0]]}}  # fmt: skip


def test_legacy_config_is_the_operation_only_when_the_operation_could_have_written_it():
    """Keras 3 writes operations to `.h5` without a module: `newshape` is the operation's,
    `target_shape` the Reshape layer's, and Concatenate's `axis` alone is read as the layer,
    as Keras' `.h5` loader reads it."""
    spec = _legacy_spec(
        _legacy_entry("Reshape", {"name": "layer", "target_shape": [3, 4]}),
        _legacy_entry("Reshape", {"name": "op", "newshape": [-1, 2, 6]}, parent="layer"),
        _legacy_entry("Concatenate", {"name": "joined", "axis": 1}, parent="op"),
    )
    with read_spec(spec) as loaded:
        graph = loaded.graph
        resolve(graph, weights_in_file=False)
    found = {n.name: (n.class_name, n.output_shapes[0]) for n in graph.layers}
    assert found["layer"] == ("Reshape", (None, 3, 4))
    assert found["op"] == ("ops.Reshape", (None, 2, 6))
    assert found["joined"] == ("Concatenate", (None, 2, 6))
