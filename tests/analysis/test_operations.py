"""Keras operations in Functional configs (`x * 0.5 + 3.0`, the masks of mask_zero):
read as nodes that are not layers, given shapes, run by the reference, refused when unknown."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.analysis.reference import materialize_weights, run_reference
from app.analysis.resolve import resolve
from app.formats import read_model, read_spec
from tests.support.kerasref import keras
from tests.support.models import randomize_weights

layers = keras.layers


def arithmetic_model():
    x = keras.Input((4,))
    y = layers.Dense(3)(x)
    z = (y * 0.5 + 3.0) / 2.0 - y
    return randomize_weights(keras.Model(x, layers.Dense(2)(keras.ops.maximum(z, 0.0))))


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_operations_are_nodes_not_layers_and_run_like_keras(tmp_path, suffix):
    model = arithmetic_model()
    path = tmp_path / f"ops{suffix}"
    model.save(path)
    with read_model(path) as loaded:
        graph = loaded.graph
        resolve(graph, weights_in_file=True)
        assert [n.name for n in graph.keras_layers()] == [layer.name for layer in model.layers]
        assert {n.class_name for n in graph.layers if n.is_operation} == {
            "ops.Multiply", "ops.Add", "ops.TrueDivide", "ops.Subtract", "ops.Maximum",
        }  # fmt: skip
        weights = materialize_weights(graph)
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    [ours] = run_reference(graph, weights, [x]).outputs
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)


def test_reduction_shapes_follow_axis_and_keepdims():
    x = keras.Input((5, 3))
    total = keras.ops.sum(x, axis=-1, keepdims=True)
    model = keras.Model(x, [layers.Dense(2)(keras.ops.mean(x, axis=1)), total])
    with read_spec(model.to_json()) as loaded:
        graph = loaded.graph
        resolve(graph, weights_in_file=False)
    shapes = {n.class_name: n.output_shapes[0] for n in graph.layers if n.is_operation}
    assert shapes["ops.Sum"] == (None, 5, 1)
    assert shapes["ops.Mean"] == (None, 3)


def test_unknown_operation_refuses_the_check_but_not_the_breakdown():
    x = keras.Input((4,))
    model = keras.Model(x, layers.Dense(2)(keras.ops.sinh(x)))
    with read_spec(model.to_json()) as loaded:
        assert [(r.code, r.class_name) for r in loaded.refusals] == [("unknown-layer", "ops.Sinh")]


def test_operation_named_with_another_module_is_refused():
    spec = json.loads(arithmetic_model().to_json())
    op = next(e for e in spec["config"]["layers"] if e.get("module") == "keras.src.ops.numpy")
    op["module"] = "keras.src.ops.elsewhere"
    with read_spec(spec) as loaded:
        assert [r.code for r in loaded.refusals] == ["unexpected-module"]


def test_constant_tensor_operand_runs_with_its_recorded_dtype(tmp_path):
    """`x * ops.convert_to_tensor(w)` records w as a `__tensor__` (value and dtype), as the
    wild encoder2 model's ops Multiply does; the reference runs it as Keras does."""
    x = keras.Input((2, 3))
    constant = keras.ops.convert_to_tensor(np.arange(6, dtype="float32").reshape(2, 3) / 7)
    model = randomize_weights(keras.Model(x, layers.Dense(2)(x * constant + keras.ops.max(x))))
    model.save(tmp_path / "ops.keras")
    written = json.dumps(json.loads(model.to_json()))
    assert '"__tensor__"' in written
    with read_model(tmp_path / "ops.keras") as loaded:
        graph = loaded.graph
        resolve(graph, weights_in_file=True)
        weights = materialize_weights(graph)
    inputs = np.random.default_rng(1).normal(size=(2, 2, 3)).astype("float32")
    [ours] = run_reference(graph, weights, [inputs]).outputs
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, model.predict(inputs, verbose=0), rtol=1e-6, atol=1e-6)
