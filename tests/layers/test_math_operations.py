"""Keras math and nn operations (`ops.Sigmoid`, `ops.Matmul`, `ops.Var`, ...): each entry's
output shape against the shape Keras gives the operation's symbolic output, with the
operation's non-default arguments, read from the config Keras writes."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.resolve import resolve
from app.formats import read_spec
from app.layers.registry import lookup
from tests.support.kerasref import keras

ops = keras.ops
W = np.linspace(-1, 1, 8, dtype="float32").reshape(4, 2)  # a constant operand

# name: (class, the operation on the inputs, the inputs' shapes without the batch)
CASES = {
    "relu": ("Relu", lambda x: ops.relu(x), [(3, 4)]),
    "sigmoid": ("Sigmoid", lambda x: ops.sigmoid(x), [(3, 4)]),
    "silu": ("Silu", lambda x: ops.silu(x), [(3, 4)]),
    "swish": ("Silu", lambda x: ops.swish(x), [(3, 4)]),
    "tanh": ("Tanh", lambda x: ops.tanh(x), [(3, 4)]),
    "erf": ("Erf", lambda x: ops.erf(x), [(3, 4)]),
    "rsqrt": ("Rsqrt", lambda x: ops.rsqrt(x * x + 0.5), [(3, 4)]),
    "log1p": ("Log1p", lambda x: ops.log1p(x * x), [(3, 4)]),
    "sin": ("Sin", lambda x: ops.sin(x), [(3, 4)]),
    "cos": ("Cos", lambda x: ops.cos(x), [(3, 4)]),
    "softmax_axis_1": ("Softmax", lambda x: ops.softmax(x, axis=1), [(3, 4)]),
    "softmax_axis_none": ("Softmax", lambda x: ops.softmax(x, axis=None), [(3, 4)]),
    "gelu": ("Gelu", lambda x: ops.gelu(x), [(3, 4)]),
    "gelu_exact": ("Gelu", lambda x: ops.gelu(x, approximate=False), [(3, 4)]),
    "clip": ("Clip", lambda x: ops.clip(x, -0.3, 0.7), [(3, 4)]),
    "where_constant": ("Where", lambda x: ops.where(x > 0, x, 0.1), [(3, 4)]),
    "where_broadcast": ("Where", lambda x, y: ops.where(x > 0.2, x, y), [(3, 4), (3, 1)]),
    "matmul": ("Matmul", lambda x, y: ops.matmul(x, y), [(3, 4), (4, 5)]),
    "matmul_at_constant": ("Matmul", lambda x: x @ ops.convert_to_tensor(W), [(3, 4)]),
    "matmul_batch_broadcast": ("Matmul", lambda x, y: x @ y, [(2, 3, 4), (1, 4, 5)]),
    "matmul_vector": ("Matmul", lambda x: ops.matmul(x, ops.convert_to_tensor(W[:, 0])), [(3, 4)]),
    "einsum": ("Einsum", lambda x: ops.einsum("bij,bkj->bik", x, x), [(3, 4)]),
    "einsum_ellipsis": (
        "Einsum",
        lambda x: ops.einsum("...ij,jk->...ik", x, ops.convert_to_tensor(W)),
        [(3, 4)],
    ),
    "einsum_sum": ("Einsum", lambda x: ops.einsum("bij->bj", x), [(3, 4)]),
    "var": ("Var", lambda x: ops.var(x, axis=1, keepdims=True), [(3, 4)]),
    "var_all": ("Var", lambda x: ops.var(x), [(3, 4)]),
    "std": ("Std", lambda x: ops.std(x, axis=(1, 2)), [(3, 4)]),
    "argmax": ("Argmax", lambda x: ops.argmax(x, axis=1, keepdims=True), [(3, 4)]),
    "argmin": ("Argmin", lambda x: ops.argmin(x, axis=-1), [(3, 4)]),
    "cumsum": ("Cumsum", lambda x: ops.cumsum(x, axis=1), [(3, 4)]),
    "cumsum_flat": ("Cumsum", lambda x: ops.cumsum(x), [(3, 4)]),
    "norm": ("Norm", lambda x: ops.norm(x, axis=-1), [(3, 4)]),
    "norm_order_3": ("Norm", lambda x: ops.norm(x, ord=3, axis=1, keepdims=True), [(3, 4)]),
    "norm_matrix_1": ("Norm", lambda x: ops.norm(x, ord=1, axis=(1, 2)), [(3, 4)]),
    "norm_fro": ("Norm", lambda x: ops.norm(x, ord="fro", axis=(1, 2)), [(3, 4)]),
}


def case_model(name: str):
    """A Functional model whose output is the case's operation on its inputs."""
    _, operation, shapes = CASES[name]
    inputs = [keras.Input(shape) for shape in shapes]
    return keras.Model(inputs, operation(*inputs))


@pytest.mark.parametrize("name", sorted(CASES))
def test_output_shape_is_the_one_keras_gives(name):
    class_name = CASES[name][0]
    model = case_model(name)
    with read_spec(model.to_json()) as loaded:
        assert loaded.refusals == []
        graph = loaded.graph
        resolve(graph, weights_in_file=False)
    [node] = [n for n in graph.layers if n.class_name == f"ops.{class_name}"]
    assert node.output_shapes[0] == tuple(model.outputs[0].shape)
    assert lookup(node.class_name).weights(node.config, []) == []


@pytest.mark.parametrize(
    "name, macs, flops",
    [
        ("matmul", 3 * 5 * 4, 2 * 3 * 5 * 4),  # (3, 4) @ (4, 5): 15 outputs × 4
        ("matmul_at_constant", 3 * 2 * 4, 2 * 3 * 2 * 4),  # the constant's (4, 2) counts
        ("einsum", 3 * 3 * 4, 2 * 3 * 3 * 4),  # bik: 9 outputs × j (4)
        ("einsum_ellipsis", 3 * 2 * 4, 2 * 3 * 2 * 4),
        ("einsum_sum", 0, 12),  # one operand: a sum, 12 additions
        ("sigmoid", 0, 12),  # one per element
        ("clip", 0, 24),  # two comparisons per element
        ("argmax", 0, 12),  # every element compared once
    ],
)
def test_cost_at_batch_one(name, macs, flops):
    """Counted by hand at batch 1 (the README's convention): products summed into an
    output are MACs, other arithmetic one FLOP per element."""
    class_name = CASES[name][0]
    model = case_model(name)
    with read_spec(model.to_json()) as loaded:
        graph = loaded.graph
        resolve(graph, weights_in_file=False)
    [node] = [n for n in graph.layers if n.class_name == f"ops.{class_name}"]
    batch_one = [(1, *shape[1:]) for shape in node.input_shapes[0]]
    out = [(1, *node.output_shapes[0][1:])]
    found = lookup(node.class_name).cost(node.config, batch_one, out)
    assert (found.macs, found.flops) == (macs, flops)
