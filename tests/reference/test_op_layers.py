"""The NumPy forwards of tf.keras op layers (app.reference.op_layers), worked by hand.

Each case is the function tf.keras names in a TFOpLambda config, called with its arguments
as the reader keeps them (`call_args` / `call_kwargs`, a tensor as `{"tensor": i}`), and the
output TensorFlow gives, worked out by hand in the test.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import UnsupportedModel
from app.reference import run_layer
from app.reference.op_layers import FUNCTIONS, op_layer_function

X = np.float32([[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]])  # (2, 3)
Y = np.float32([[0.5, 0.5, 2.0], [1.0, -1.0, 0.5]])
T0, T1 = {"tensor": 0}, {"tensor": 1}


def op(function: str, args: list, kwargs: dict | None = None, *inputs: np.ndarray):
    config = {"function": function, "call_args": args, "call_kwargs": kwargs or {}}
    return run_layer("TFOpLambda", config, {}, list(inputs or [X]))


def test_add_with_the_tensor_by_keyword():
    out = op("__operators__.add", [T0], {"y": T1, "name": None}, X, Y)
    np.testing.assert_array_equal(out, [[1.5, -1.5, 5.0], [-3.0, 4.0, -5.5]])


def test_constant_first_keeps_the_tensors_dtype():
    """`0.5 * t` recorded as math.multiply(_CONSTANT_VALUE 0.5, y=t): float32, not float64."""
    out = op("math.multiply", [0.5], {"y": T0, "name": None})
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0.5, -1.0, 1.5], [-2.0, 2.5, -3.0]])


def test_subtract_constant_from_tensor_and_reverse():
    np.testing.assert_array_equal(op("math.subtract", [T0], {"y": 1}), X - 1)
    np.testing.assert_array_equal(op("math.subtract", [1.0], {"y": T0}), 1 - X)


def test_list_constant_takes_the_tensors_dtype():
    out = op("math.multiply", [T0], {"y": [1.0, 0.0, -1.0]})
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[1.0, 0.0, -3.0], [-4.0, 0.0, 6.0]])


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("math.negative", [[-1, 2, -3], [4, -5, 6]]),
        ("math.abs", [[1, 2, 3], [4, 5, 6]]),
        ("math.square", [[1, 4, 9], [16, 25, 36]]),
        ("nn.relu", [[1, 0, 3], [0, 5, 0]]),
        ("identity", [[1, -2, 3], [-4, 5, -6]]),
        ("ones_like", [[1, 1, 1], [1, 1, 1]]),
        ("zeros_like", [[0, 0, 0], [0, 0, 0]]),
    ],
)
def test_elementwise_by_hand(function, expected):
    out = op(function, [T0])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)


def test_log_exp_sqrt_sigmoid_tanh_of_known_values():
    x = np.float32([[1.0, 4.0]])
    np.testing.assert_allclose(op("math.sqrt", [T0], {}, x), [[1.0, 2.0]])
    np.testing.assert_allclose(op("math.log", [T0], {}, x), [[0.0, np.log(4.0)]], rtol=1e-6)
    zero = np.float32([[0.0]])
    np.testing.assert_allclose(op("math.exp", [T0], {}, zero), [[1.0]])
    np.testing.assert_allclose(op("math.sigmoid", [T0], {}, zero), [[0.5]])
    np.testing.assert_allclose(op("math.tanh", [T0], {}, zero), [[0.0]])


def test_pow_maximum_minimum_truediv():
    np.testing.assert_array_equal(op("math.pow", [T0], {"y": 2}), X**2)
    np.testing.assert_array_equal(op("math.maximum", [T0], {"y": 0.0}), np.maximum(X, 0))
    np.testing.assert_array_equal(op("math.minimum", [T0, T1], {}, X, Y), np.minimum(X, Y))
    np.testing.assert_array_equal(op("math.truediv", [T0], {"y": 2}), X / 2)


def test_concat_of_a_list_of_tensors():
    out = op("concat", [[T0, T1]], {"axis": 1}, X, Y)
    assert out.shape == (2, 6)
    np.testing.assert_array_equal(out[:, 3:], Y)


def test_stack_reshape_transpose_expand_squeeze():
    assert op("stack", [[T0, T1]], {"axis": 1}, X, Y).shape == (2, 2, 3)
    np.testing.assert_array_equal(op("reshape", [T0, [-1, 3, 1]]).ravel(), X.ravel())
    assert op("reshape", [T0, [-1, 3, 1]]).shape == (2, 3, 1)
    np.testing.assert_array_equal(op("compat.v1.transpose", [T0], {"perm": [1, 0]}), X.T)
    np.testing.assert_array_equal(op("transpose", [T0]), X.T)  # perm None: reversed axes
    assert op("expand_dims", [T0], {"axis": -1}).shape == (2, 3, 1)
    column = np.float32([[1.0], [2.0]])
    np.testing.assert_array_equal(op("squeeze", [T0], {"axis": -1}, column), [1.0, 2.0])


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("math.reduce_sum", [[2.0], [-5.0]]),
        ("math.reduce_mean", [[2 / 3], [-5 / 3]]),
        ("math.reduce_max", [[3.0], [5.0]]),
        ("math.reduce_min", [[-2.0], [-6.0]]),
        ("math.reduce_prod", [[-6.0], [120.0]]),
    ],
)
def test_reductions_over_axis_1_keeping_it(function, expected):
    out = op(function, [T0], {"axis": 1, "keepdims": True})
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_reduction_over_every_axis():
    assert float(op("math.reduce_sum", [T0])) == -3.0


def test_matmul_with_transpose_b():
    """X (2, 3) · Yᵀ (3, 2): row 0 = [1·.5 − 2·.5 + 3·2, 1·1 + 2·1 + 3·.5] = [5.5, 4.5],
    row 1 = [−4·.5 + 5·.5 − 6·2, −4·1 − 5·1 − 6·.5] = [−11.5, −12]."""
    out = op("linalg.matmul", [T0, T1], {"transpose_b": True}, X, Y)
    np.testing.assert_allclose(out, [[5.5, 4.5], [-11.5, -12.0]])


def test_cast_clip_softmax():
    assert op("cast", [T0], {"dtype": "int32"}).dtype == np.int32
    np.testing.assert_array_equal(
        op("clip_by_value", [T0], {"clip_value_min": -1, "clip_value_max": 2}),
        [[1, -1, 2], [-1, 2, -1]],
    )
    out = op("nn.softmax", [T0], {}, np.float32([[0.0, np.log(3.0)]]))
    np.testing.assert_allclose(out, [[0.25, 0.75]], rtol=1e-6)


def slicing(spec, x=X):
    config = {"function": "__operators__.getitem", "call_args": [T0], "call_kwargs": spec}
    return run_layer("SlicingOpLambda", config, {}, [x])


def test_getitem_slices_per_axis_as_tf_keras_writes_them():
    """`x[:, -2:-1]`: one slice dict per axis (a list is per axis, never fancy indexing)."""
    spec = [{"start": None, "stop": None, "step": None}, {"start": -2, "stop": -1, "step": None}]
    np.testing.assert_array_equal(slicing({"slice_spec": spec}), [[-2.0], [5.0]])


def test_getitem_keras3_slice_objects_ints_newaxis_and_ellipsis():
    every = {"class_name": "__slice__", "config": {"start": None, "stop": None, "step": 2}}
    ellipsis = {"class_name": "__ellipsis__"}
    np.testing.assert_array_equal(slicing({"slice_spec": [ellipsis, every]}), X[..., ::2])
    assert slicing({"slice_spec": [0, None]}).shape == (1, 3)  # x[0, tf.newaxis]
    np.testing.assert_array_equal(slicing({"slice_spec": 1}), [-4.0, 5.0, -6.0])  # x[1]


def test_getitem_with_a_tensor_bound_is_unsupported():
    spec = [{"start": T0, "stop": None, "step": None}]
    with pytest.raises(UnsupportedModel):
        slicing({"slice_spec": spec})


def test_a_function_off_the_allowlist_is_never_run():
    assert op_layer_function("TFOpLambda", {"function": "io.write_file"}) is None
    with pytest.raises(UnsupportedModel, match="io.write_file"):
        op("io.write_file", [T0])


def test_tensorflow_op_layer_runs_its_nodedef_op_with_constants_in_place():
    """A NodeDef `Sub` with constant 1 at input 0: 1 − x (TensorFlowOpLayer._make_op)."""
    config = {"node_def": {"op": "Sub", "input": ["sub/x", "x"]}, "constants": {"0": 1.0}}
    out = run_layer("TensorFlowOpLayer", config, {}, [X])
    np.testing.assert_array_equal(out, 1 - X)


def test_tensorflow_op_layer_mean_takes_its_axis_input_and_keep_dims():
    node_def = {"op": "Mean", "input": ["x", "Mean/reduction_indices"]}
    node_def["attr"] = {"keep_dims": {"b": True}}
    config = {"node_def": node_def, "constants": {"1": [1]}}
    np.testing.assert_allclose(
        run_layer("TensorFlowOpLayer", config, {}, [X]), [[2 / 3], [-5 / 3]], rtol=1e-6
    )


def test_every_allowlisted_function_is_callable():
    assert all(callable(fn) for fn in FUNCTIONS.values())
    assert {"__operators__.add", "math.multiply", "concat", "__operators__.getitem"} <= set(
        FUNCTIONS
    )


def test_tensorflow_op_layer_numpy_constant_and_scalar_dtype():
    """tf_keras writes an array constant as `__numpy__` (Transpose's perm); a scalar constant
    (RealDiv's 2.0) keeps the tensor's float32."""
    perm = {"class_name": "__numpy__", "config": {"value": [1, 0], "dtype": "int32"}}
    transpose = {"node_def": {"op": "Transpose"}, "constants": {"1": perm}}
    np.testing.assert_array_equal(run_layer("TensorFlowOpLayer", transpose, {}, [X]), X.T)
    divide = {"node_def": {"op": "RealDiv"}, "constants": {"1": 2.0}}
    out = run_layer("TensorFlowOpLayer", divide, {}, [X])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0.5, -1.0, 1.5], [-2.0, 2.5, -3.0]])


def test_comparison_then_cast_as_tf_keras_writes_x_greater_than_half():
    greater = op("math.greater", [T0], {"y": 0.5, "name": None})
    np.testing.assert_array_equal(greater, [[True, False, True], [False, True, False]])
    out = op("cast", [T0], {"dtype": "float32"}, greater)
    np.testing.assert_array_equal(out, [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
