"""Keras operations recorded in a Functional config (`ops.Add`, `ops.NotEqual`, ...).

Each call's positional arguments are in `config["call_args"]`: a tensor as `{"tensor": i}`
(the i-th input), a constant as itself. Constants stay Python numbers, which NumPy 2 treats as
"weak" scalars: `x * 0.5` stays in x's dtype, as Keras computes it (no float64 promotion).
Reductions take `axis` and `keepdims` from the config.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.errors import UnsupportedModel
from app.reference.forwards import Config, Weights, forward

BINARY_FUNCTIONS = {
    "Add": np.add, "Subtract": np.subtract, "Multiply": np.multiply, "Divide": np.true_divide,
    "TrueDivide": np.true_divide, "Maximum": np.maximum, "Minimum": np.minimum,
    "Power": np.power, "Equal": np.equal, "NotEqual": np.not_equal, "Greater": np.greater,
    "GreaterEqual": np.greater_equal, "Less": np.less, "LessEqual": np.less_equal,
    "LogicalAnd": np.logical_and, "LogicalOr": np.logical_or,
}  # fmt: skip
UNARY_FUNCTIONS = {
    "Negative": np.negative, "Abs": np.abs, "Absolute": np.abs, "Sqrt": np.sqrt,
    "Square": np.square,
    "Exp": np.exp, "Log": np.log, "LogicalNot": np.logical_not,
}  # fmt: skip
REDUCTION_FUNCTIONS = {
    "Any": np.any, "All": np.all, "Sum": np.sum, "Mean": np.mean, "Max": np.max, "Min": np.min,
}  # fmt: skip


OPS_PREFIX = "ops."  # the class name the readers give an operation: `ops.Add`
BINARY = tuple(BINARY_FUNCTIONS)
UNARY = (*UNARY_FUNCTIONS, "Cast")
REDUCTIONS = tuple(REDUCTION_FUNCTIONS)


def operands(config: Config, inputs: list[np.ndarray]) -> list[Any]:
    """The call's positional arguments: input tensors in place, constants as given."""
    template = config.get("call_args") or [{"tensor": i} for i in range(len(inputs))]
    return [
        inputs[arg["tensor"]] if isinstance(arg, dict) and "tensor" in arg else _constant(arg)
        for arg in template
    ]


# How Keras writes a constant tensor or array operand (`serialize_keras_object`): the value as
# nested lists and its dtype. Keras rebuilds it with that dtype.
ARRAY_MARKERS = frozenset({"__tensor__", "__numpy__"})
ARRAY_KINDS = "biuf"  # bool, ints, floats: what an operand of a numeric op may hold


def _constant(value: Any) -> Any:
    """A scalar stays a Python number (weak); a list becomes an array of its own dtype; a
    `__tensor__`/`__numpy__` constant (`x * keras.ops.convert_to_tensor(w)`) an array of
    its recorded dtype."""
    if isinstance(value, dict) and value.get("class_name") in ARRAY_MARKERS:
        return _recorded_array(value.get("config"))
    return np.asarray(value) if isinstance(value, list) else value


def _recorded_array(config: Any) -> np.ndarray:
    if not isinstance(config, dict) or "value" not in config:
        raise UnsupportedModel("A constant operand is recorded without its value.")
    dtype = np.dtype(str(config.get("dtype") or "float32"))
    if dtype.kind not in ARRAY_KINDS:
        raise UnsupportedModel(f"A constant operand has dtype {dtype.name}, not a number.")
    return np.asarray(config["value"], dtype=dtype)


def _binary(name: str):
    function = BINARY_FUNCTIONS[name]

    def binary(config: Config, weights: Weights, inputs: list[np.ndarray], training):
        """out = a ∘ b, NumPy broadcasting; a constant operand keeps the tensor's dtype."""
        a, b = operands(config, inputs)[:2]
        return np.asarray(function(a, b))

    return binary


def _unary(name: str):
    def unary(config: Config, weights: Weights, inputs: list[np.ndarray], training):
        """out = f(x), element-wise; Cast converts to `config["call_kwargs"]["dtype"]`."""
        x = operands(config, inputs)[0]
        if name == "Cast":
            kwargs = config.get("call_kwargs") or {}
            return np.asarray(x).astype(kwargs.get("dtype") or config.get("dtype") or x.dtype)
        return UNARY_FUNCTIONS[name](x)

    return unary


def _reduction(name: str):
    function = REDUCTION_FUNCTIONS[name]

    def reduction(config: Config, weights: Weights, inputs: list[np.ndarray], training):
        """out = reduce(x) over `axis` (every axis when None), keeping them with `keepdims`."""
        x = operands(config, inputs)[0]
        axis = config.get("axis")
        axis = tuple(axis) if isinstance(axis, list) else axis
        return np.asarray(function(x, axis=axis, keepdims=bool(config.get("keepdims", False))))

    return reduction


for _name in BINARY:
    forward(OPS_PREFIX + _name)(_binary(_name))
for _name in UNARY:
    forward(OPS_PREFIX + _name)(_unary(_name))
for _name in REDUCTIONS:
    forward(OPS_PREFIX + _name)(_reduction(_name))
