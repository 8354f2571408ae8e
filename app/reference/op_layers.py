"""tf.keras op layers: the TensorFlow functions tf.keras recorded as layers, in NumPy.

tf.keras 2.4 to 2.15 (and tf_keras) records `x + y`, `tf.concat(...)` or `x[:, 1:]` on a Keras
tensor as a `TFOpLambda` (a `SlicingOpLambda` for `getitem`) whose config names the function
(`"function": "math.multiply"`); with eager execution disabled it records a
`TensorFlowOpLayer` whose config holds the TensorFlow NodeDef (`"op": "AddV2"`). The reader
(app.safety.model_config) keeps each call as `config["call_args"]` / `config["call_kwargs"]`,
a tensor as `{"tensor": i}` (the i-th input of the call), a constant as itself.

Only the functions of `FUNCTIONS` run, each a NumPy function with TensorFlow's signature;
any other name is refused by name before anything runs (`op_layer_function` is None).
Constants take the dtype of the tensor they meet, as TensorFlow converts them
(`x * 0.5` stays float32).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from app.errors import UnsupportedModel
from app.reference.activations import sigmoid, softmax
from app.reference.forwards import Config, Weights, forward

NODE_DEF_CLASS = "TensorFlowOpLayer"  # the NodeDef kind; TFOpLambda and SlicingOpLambda name
# their function


# Constants meet tensors as TensorFlow converts them -------------------------------------


def _like(value: Any, other: Any) -> Any:
    """`value` as TensorFlow converts an operand: a constant takes the other tensor's dtype."""
    if isinstance(value, np.ndarray) or not isinstance(other, np.ndarray):
        return value if isinstance(value, np.ndarray) else np.asarray(value)
    return np.asarray(value, dtype=other.dtype)


def _binary(function: Callable) -> Callable:
    def binary(x, y, name=None):
        return function(_like(x, y), _like(y, x))

    return binary


def _unary(function: Callable) -> Callable:
    def unary(x, name=None):
        return function(np.asarray(x))

    return unary


def _reduction(function: Callable) -> Callable:
    def reduce(input_tensor, axis=None, keepdims=False, name=None):
        axis = tuple(axis) if isinstance(axis, list) else axis
        return function(np.asarray(input_tensor), axis=axis, keepdims=bool(keepdims))

    return reduce


def _concat(values, axis, name="concat"):
    return np.concatenate([np.asarray(v) for v in values], axis=int(axis))


def _stack(values, axis=0, name="stack"):
    return np.stack([np.asarray(v) for v in values], axis=int(axis))


def _reshape(tensor, shape, name=None):
    return np.reshape(tensor, [int(d) for d in np.asarray(shape).reshape(-1)])


def _transpose(a, perm=None, conjugate=False, name="transpose"):
    return np.transpose(a, None if perm is None else [int(p) for p in perm])


def _transpose_v1(a, perm=None, name="transpose", conjugate=False):
    return _transpose(a, perm)


def _expand_dims(input, axis, name=None):  # noqa: A002  (TensorFlow's own argument name)
    return np.expand_dims(input, int(axis))


def _squeeze(input, axis=None, name=None, squeeze_dims=None):  # noqa: A002
    axis = squeeze_dims if axis is None else axis
    axis = tuple(axis) if isinstance(axis, list) else axis
    return np.squeeze(input, axis=axis)


def _matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
            a_is_sparse=False, b_is_sparse=False, output_type=None, name=None):  # fmt: skip
    a, b = _like(a, b), _like(b, a)
    if transpose_a or adjoint_a:
        a = np.swapaxes(a, -1, -2)
    if transpose_b or adjoint_b:
        b = np.swapaxes(b, -1, -2)
    return np.matmul(a, b)


def _cast(x, dtype, name=None):
    return np.asarray(x).astype(str(dtype))


def _like_fill(value: float) -> Callable:
    def fill(input, dtype=None, name=None, optimize=True):  # noqa: A002
        x = np.asarray(input)
        return np.full(x.shape, value, dtype=str(dtype) if dtype else x.dtype)

    return fill


def _identity(input, name=None):  # noqa: A002
    return np.asarray(input)


def _clip_by_value(t, clip_value_min, clip_value_max, name=None):
    t = np.asarray(t)
    return np.clip(t, _like(clip_value_min, t), _like(clip_value_max, t))


def _softmax(logits, axis=None, name=None):
    return softmax(np.asarray(logits), -1 if axis is None else int(axis))


def _relu(features, name=None):
    x = np.asarray(features)
    return np.maximum(x, np.zeros((), x.dtype))


def _sigmoid(x, name=None):
    return sigmoid(np.asarray(x))


def _getitem(tensor, slice_spec, var=None):
    """`tensor[slice_spec]` as TensorFlow reads it: a list is one entry per axis (never
    NumPy's fancy indexing); entries are ints, slices, None (a new axis) or Ellipsis."""
    spec = slice_spec if isinstance(slice_spec, list | tuple) else [slice_spec]
    return np.asarray(tensor)[tuple(_index_entry(entry) for entry in spec)]


def _index_entry(entry: Any) -> Any:
    if entry is None or isinstance(entry, int) and not isinstance(entry, bool):
        return entry
    if isinstance(entry, dict):
        if entry.get("class_name") == "__ellipsis__":
            return Ellipsis
        bounds = entry.get("config", entry) if entry.get("class_name") == "__slice__" else entry
        if set(bounds) <= {"start", "stop", "step"}:
            return slice(*(_bound(bounds.get(key)) for key in ("start", "stop", "step")))
    raise UnsupportedModel(
        "A slice of an op layer holds an index the reference does not take (a tensor, or a "
        "boolean).",
        {"index": str(entry)[:60]},
    )


def _bound(value: Any) -> int | None:
    if value is None or isinstance(value, int) and not isinstance(value, bool):
        return value
    raise UnsupportedModel("A slice bound of an op layer is not a number.", {})


# The allowlist: the function names tf.keras writes, each with its NumPy forward ----------

_ADD, _SUB, _MUL = _binary(np.add), _binary(np.subtract), _binary(np.multiply)
_DIV = _binary(np.true_divide)
FUNCTIONS: dict[str, Callable] = {
    "__operators__.add": _ADD, "math.add": _ADD, "math.add_n": lambda inputs, name=None: sum(
        np.asarray(x) for x in inputs),
    "math.subtract": _SUB, "math.multiply": _MUL, "math.truediv": _DIV, "math.divide": _DIV,
    "math.maximum": _binary(np.maximum), "math.minimum": _binary(np.minimum),
    "math.pow": _binary(np.power), "math.squared_difference": _binary(
        lambda x, y: np.square(x - y)),
    "math.negative": _unary(np.negative), "math.abs": _unary(np.abs),
    "math.log": _unary(np.log), "math.exp": _unary(np.exp), "math.sqrt": _unary(np.sqrt),
    "math.square": _unary(np.square), "math.sigmoid": _sigmoid, "nn.sigmoid": _sigmoid,
    "math.tanh": _unary(np.tanh), "nn.relu": _relu, "nn.softmax": _softmax,
    "math.softmax": _softmax, "identity": _identity, "ones_like": _like_fill(1),
    "zeros_like": _like_fill(0), "cast": _cast, "clip_by_value": _clip_by_value,
    "concat": _concat, "stack": _stack, "reshape": _reshape, "transpose": _transpose,
    "compat.v1.transpose": _transpose_v1, "expand_dims": _expand_dims,
    "compat.v1.expand_dims": _expand_dims, "squeeze": _squeeze, "compat.v1.squeeze": _squeeze,
    "linalg.matmul": _matmul, "math.reduce_mean": _reduction(np.mean),
    "math.reduce_sum": _reduction(np.sum), "math.reduce_max": _reduction(np.max),
    "math.reduce_min": _reduction(np.min), "math.reduce_prod": _reduction(np.prod),
    "__operators__.getitem": _getitem,
    "math.greater": _binary(np.greater), "math.greater_equal": _binary(np.greater_equal),
    "math.less": _binary(np.less), "math.less_equal": _binary(np.less_equal),
    "math.equal": _binary(np.equal), "math.not_equal": _binary(np.not_equal),
    "math.logical_and": _binary(np.logical_and), "math.logical_or": _binary(np.logical_or),
    "math.logical_not": _unary(np.logical_not),
}  # fmt: skip


def op_layer_function(class_name: str, config: Config) -> str | None:
    """The allowlisted function an op layer's config names (`math.multiply`), else None.
    A TensorFlowOpLayer's NodeDef op is named by its function here (`AddV2`: `math.add`)."""
    if class_name == NODE_DEF_CLASS:
        return NODE_DEF_OPS.get(node_def_op(config) or "")
    name = config.get("function")
    return name if isinstance(name, str) and name in FUNCTIONS else None


def written_function(class_name: str, config: Config) -> str:
    """The function as the config writes it (`math.multiply`, a NodeDef's `AddV2`), for
    messages: the name of a function that is refused."""
    if class_name == NODE_DEF_CLASS:
        return str(node_def_op(config))[:60]
    return str(config.get("function"))[:60]


def node_def_op(config: Config) -> str | None:
    node_def = config.get("node_def")
    op = node_def.get("op") if isinstance(node_def, dict) else None
    return op if isinstance(op, str) else None


def call_template(config: Config, inputs: list[np.ndarray]) -> tuple[list[Any], dict[str, Any]]:
    """The call's positional and keyword arguments with every `{"tensor": i}` filled in."""
    args = [_fill(arg, inputs) for arg in config.get("call_args") or []]
    kwargs = {key: _fill(value, inputs) for key, value in (config.get("call_kwargs") or {}).items()}
    return args, kwargs


def _fill(value: Any, inputs: list[np.ndarray]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"tensor"} and isinstance(value["tensor"], int):
            return inputs[value["tensor"]]
        return {key: _fill(item, inputs) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, inputs) for item in value]
    return value


def call_function(name: str, args: list[Any], kwargs: dict[str, Any]) -> np.ndarray:
    """Run the allowlisted function `name`; tf.keras drops a call's `name` keyword too."""
    kwargs = {key: value for key, value in kwargs.items() if key != "name"}
    try:
        return np.asarray(FUNCTIONS[name](*args, **kwargs))
    except TypeError as exc:  # arguments the function does not take
        raise UnsupportedModel(
            f"The op layer calls `{name}` with arguments the reference does not take.",
            {"function": name},
        ) from exc


@forward("TFOpLambda", "SlicingOpLambda")
def op_lambda(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """TFOpLambda / SlicingOpLambda: `config["function"](*call_args, **call_kwargs)`.

    Shapes: whatever the function gives (`concat` of (N, a) and (N, b): (N, a + b)).
    """
    name = op_layer_function("TFOpLambda", config)
    if name is None:
        raise _refused(written_function("TFOpLambda", config))
    args, kwargs = call_template(config, inputs)
    return call_function(name, args, kwargs)


# TensorFlowOpLayer: a NodeDef's op, its inputs (tensors, with its constants in place) -----

NODE_DEF_OPS = {
    "AddV2": "math.add", "Add": "math.add", "Sub": "math.subtract", "Mul": "math.multiply",
    "RealDiv": "math.truediv", "Maximum": "math.maximum", "Minimum": "math.minimum",
    "Pow": "math.pow", "Neg": "math.negative", "Abs": "math.abs", "Log": "math.log",
    "Exp": "math.exp", "Sqrt": "math.sqrt", "Square": "math.square", "Sigmoid": "math.sigmoid",
    "Tanh": "math.tanh", "Relu": "nn.relu", "Softmax": "nn.softmax", "Identity": "identity",
    "ConcatV2": "concat", "Reshape": "reshape", "Transpose": "transpose",
    "ExpandDims": "expand_dims", "Mean": "math.reduce_mean", "Sum": "math.reduce_sum",
    "Max": "math.reduce_max", "Min": "math.reduce_min", "Prod": "math.reduce_prod",
    "SquaredDifference": "math.squared_difference",
}  # fmt: skip


def node_def_call(config: Config, inputs: list[np.ndarray]) -> tuple[list, dict]:
    """The function's arguments for a NodeDef: its inputs are the call's tensors with the
    layer's `constants` inserted at their indices (TensorFlowOpLayer._make_op)."""
    operands: list[Any] = list(inputs)
    constants = config.get("constants") or {}
    for index in sorted(constants, key=int):
        operands.insert(int(index), _constant(constants[index]))
    op = node_def_op(config)
    attrs = (config.get("node_def") or {}).get("attr") or {}
    if op == "ConcatV2":
        return [operands[:-1], operands[-1]], {}
    if op in ("Mean", "Sum", "Max", "Min", "Prod"):
        keep = bool((attrs.get("keep_dims") or {}).get("b", False))
        return [operands[0], np.asarray(operands[1]).tolist(), keep], {}
    return operands, {}


def _constant(value: Any) -> Any:
    """A NodeDef's constant: an array tf_keras wrote as `__numpy__` in its own dtype, else the
    number or list as written (it takes the dtype of the tensor it meets, as a weak scalar)."""
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        array = value.get("config") or {}
        return np.asarray(array.get("value"), dtype=str(array.get("dtype", "float32")))
    return value


@forward(NODE_DEF_CLASS)
def tensorflow_op_layer(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """TensorFlowOpLayer: the NodeDef's op (`AddV2`: x + y) on its inputs and constants.

    Shapes: whatever the op gives.
    """
    name = op_layer_function(NODE_DEF_CLASS, config)
    if name is None:
        raise _refused(written_function(NODE_DEF_CLASS, config))
    args, kwargs = node_def_call(config, inputs)
    return call_function(name, args, kwargs)


def _refused(function: str) -> UnsupportedModel:
    return UnsupportedModel(
        f"The op layer calls the TensorFlow function `{function}`, which the reference does "
        "not run.",
        {"function": function},
    )
