"""A Keras 3.15.1 model built with `keras.ops` math and nn operations (sigmoid, softmax,
gelu, matmul, clip, where, erf, rsqrt, ...) goes through the API: its report lists them and
its check, Keras' own predict against the reference, passes. Before, the check was refused
(`unexpected-module` for ops kept in keras.src.ops.nn / math / linalg, `unknown-layer` for
the others). Saved by Keras as `.keras` and as `.h5` (which records no module for them)."""

from __future__ import annotations

import numpy as np
import pytest

from app.formats import read_model
from tests.support.kerasref import keras
from tests.support.models import randomize_weights

ops = keras.ops
OPERATIONS = {
    "ops.Sigmoid", "ops.Relu", "ops.Tanh", "ops.Softmax", "ops.Gelu", "ops.Silu",
    "ops.Matmul", "ops.Clip", "ops.Where", "ops.Erf", "ops.Rsqrt", "ops.Einsum", "ops.Var",
    "ops.Norm", "ops.Cumsum", "ops.Log1p",
}  # fmt: skip


def operations_model():
    """Dense layers joined by the operations above, so a wrong forward shows downstream."""
    x = keras.Input((3, 4), name="tokens")
    h = keras.layers.Dense(4, name="project")(x)
    a = ops.sigmoid(h) + ops.relu(h) * ops.tanh(h)
    scores = ops.softmax(ops.matmul(a, ops.convert_to_tensor(np.eye(4, 3, dtype="float32"))))
    g = ops.gelu(h) + ops.silu(h) + ops.erf(h) * 0.1
    g = ops.where(g > 0, ops.clip(g, -0.5, 0.5), ops.rsqrt(ops.log1p(g * g) + 1.0))
    mixed = ops.einsum("bij,bkj->bik", g, a) + ops.cumsum(scores, axis=1)
    stats = ops.var(g, axis=-1, keepdims=True) + ops.norm(a, axis=-1, keepdims=True)
    y = keras.layers.Dense(2, name="head")(mixed + stats)
    return randomize_weights(keras.Model(x, y))


@pytest.fixture(scope="module")
def client(tmp_path_factory, warm_pool):
    with warm_pool.client(tmp_path_factory.mktemp("math_operations")) as client:
        yield client


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_check_of_a_model_built_with_math_operations_passes(client, tmp_path, suffix):
    path = tmp_path / f"operations{suffix}"
    operations_model().save(path)
    with read_model(path) as loaded:
        found = {node.class_name for node in loaded.graph.layers if node.is_operation}
    assert found >= OPERATIONS
    with path.open("rb") as fh:
        response = client.post(
            "/api/v1/reports", files={"file": (path.name, fh)}, params={"wait": "true"}
        )
    assert response.status_code == 201, response.json()
    report = response.json()
    assert [layer["class_name"] for layer in report["layers"]] == ["InputLayer", "Dense", "Dense"]
    check = report["check"]
    assert check["status"] == "passed", check
    assert [layer["verdict"] for layer in check["layers"]] == ["passed", "passed"]
