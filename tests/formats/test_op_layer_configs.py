"""tf.keras op layers as tf.keras writes them in a model config, read and run.

The configs are written here as tf_keras' Functional.get_config writes them (node.py
`serialize`): an op layer's inbound node is its first call argument as written (a single
tensor stays a flat `[layer, node, tensor, kwargs]`), the other arguments are the kwargs of its
references, where tensors may sit at any depth, and a constant where a tensor is expected is
`["_CONSTANT_VALUE", -1, value, kwargs]`. The expected outputs are worked by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.reference import materialize_weights, run_reference
from app.analysis.resolve import resolve
from app.errors import InvalidSpec
from app.formats import read_spec
from app.formats.config import parse_model


def op(name: str, function: str, inbound, cls: str = "TFOpLambda") -> dict:
    config = {"name": name, "trainable": True, "dtype": "float32", "function": function}
    return {"class_name": cls, "config": config, "name": name, "inbound_nodes": [inbound]}


def model(layers: list[dict], outputs: list[str]) -> dict:
    a = {"class_name": "InputLayer", "name": "a", "inbound_nodes": []}
    a["config"] = {"batch_input_shape": [None, 3], "dtype": "float32", "name": "a"}
    b = {**a, "name": "b", "config": {**a["config"], "name": "b"}}
    config = {
        "name": "model",
        "layers": [a, b, *layers],
        "input_layers": [["a", 0, 0], ["b", 0, 0]],
        "output_layers": [[name, 0, 0] for name in outputs],
    }
    return {"class_name": "Functional", "config": config}


A = np.float32([[1.0, 2.0, 3.0]])
B = np.float32([[10.0, 20.0, 30.0]])

LAYERS = [
    # b - a: math.subtract(b, y=a), the second tensor by keyword
    op("tf.math.subtract", "math.subtract", ["b", 0, 0, {"y": ["a", 0, 0], "name": None}]),
    # 0.5 * a: the constant first, the tensor by keyword
    op("tf.math.multiply", "math.multiply", ["_CONSTANT_VALUE", -1, 0.5, {"y": ["a", 0, 0]}]),
    # tf.concat([sub, half], axis=-1): a list of references, each with the kwargs
    op(
        "tf.concat",
        "concat",
        [["tf.math.subtract", 0, 0, {"axis": -1}], ["tf.math.multiply", 0, 0, {"axis": -1}]],
    ),
    # x[:, 1:5:2]: the slice spec as tf_keras writes it
    op(
        "tf.__operators__.getitem",
        "__operators__.getitem",
        [
            "tf.concat",
            0,
            0,
            {
                "slice_spec": [
                    {"start": None, "stop": None, "step": None},
                    {"start": 1, "stop": 5, "step": 2},
                ]
            },
        ],
        cls="SlicingOpLambda",
    ),
]


def test_op_layers_read_and_run_as_worked_by_hand():
    """b − a = [9, 18, 27]; 0.5·a = [.5, 1, 1.5]; concat = [9, 18, 27, .5, 1, 1.5];
    [:, 1:5:2] = [18, .5]."""
    graph = parse_model(model(LAYERS[:4], ["tf.__operators__.getitem"]))
    resolve(graph, weights_in_file=False)
    assert graph.layer("tf.concat").output_shapes == [(None, 6)]
    assert graph.layer("tf.__operators__.getitem").output_shapes == [(None, 2)]
    [out] = run_reference(graph, materialize_weights(graph), [A, B]).outputs
    np.testing.assert_array_equal(out, [[18.0, 0.5]])
    assert out.dtype == np.float32


def test_keyword_tensors_at_any_depth_are_data_inputs():
    """A tensor anywhere in the kwargs (here inside a list inside a dict) is an input of the
    call, in the order met: the first argument's, then the keywords'; constants stay."""
    deep = {"y": {"pair": [["b", 0, 0], 2.0]}, "name": None}
    graph = parse_model(model([op("tf.op", "math.maximum", ["a", 0, 0, deep])], ["tf.op"]))
    node = graph.layer("tf.op")
    assert [r.layer for r in node.calls[0]] == ["a", "b"]
    assert node.config["call_args"] == [{"tensor": 0}]
    assert node.config["call_kwargs"] == {"y": {"pair": [{"tensor": 1}, 2.0]}, "name": None}


def test_keyword_tensor_runs_in_its_place():
    """tf.math.maximum(b, y=a) with a from the keyword: max([10, 20, 30], [1, 2, 3])."""
    graph = parse_model(
        model([op("tf.max", "math.maximum", ["b", 0, 0, {"y": ["a", 0, 0]}])], ["tf.max"])
    )
    resolve(graph, weights_in_file=False)
    assert graph.layer("tf.max").output_shapes == [(None, 3)]
    [out] = run_reference(graph, [], [A, B]).outputs
    np.testing.assert_array_equal(out, B)


def test_unknown_function_is_refused_by_name_and_never_run():
    spec = model([op("tf.io.write_file", "io.write_file", ["a", 0, 0, {"contents": "x"}])], ["a"])
    with read_spec(spec) as loaded:
        [refusal] = loaded.refusals
        assert (refusal.code, refusal.class_name) == ("unknown-op-function", "TFOpLambda")
        assert "`io.write_file`" in refusal.reason
        assert refusal.path == ("tf.io.write_file",)


def test_op_layer_called_twice_with_different_arguments_is_refused():
    twice = op("tf.math.add", "math.add", ["a", 0, 0, {"y": 1}])
    twice["inbound_nodes"].append(["b", 0, 0, {"y": ["a", 0, 0]}])
    with pytest.raises(InvalidSpec, match="differ by call"):
        parse_model(model([twice], ["tf.math.add"]))
