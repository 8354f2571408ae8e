"""Keras math and nn operations recorded in a Functional config (`ops.Sigmoid`, `ops.Matmul`,
`ops.Var`, ...): what `keras.ops.sigmoid(x)` or `a @ b` on a Keras tensor saves.

Keras keeps them in keras.src.ops.nn (Relu, Sigmoid, Silu, Gelu, Softmax), keras.src.ops.math
(Erf, Rsqrt), keras.src.ops.linalg (Norm) and keras.src.ops.numpy (the others). An
operation's own settings are in its config (Softmax's `axis`, Clip's `x_min`/`x_max`,
Einsum's `subscripts`); its operands in `config["call_args"]` as for `ops.Add`
(`app.reference.operations.operands`). Each forward follows the TensorFlow backend
(keras/src/backend/tensorflow/{nn,math,numpy,linalg}.py) in the input's dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.errors import UnsupportedModel
from app.reference.activations import erf, gelu, sigmoid, silu, softmax
from app.reference.forwards import Config, Weights, forward, scalar
from app.reference.operations import OPS_PREFIX, operands

FLOAT = np.dtype("float32")  # Keras' floatx: what an integer input of a float function becomes


def floating(x: Any) -> np.ndarray:
    """x as an array of a float dtype: Keras casts an integer or bool input to float32."""
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(FLOAT)


def rectified(x: np.ndarray) -> np.ndarray:
    """relu(x) = max(x, 0), in x's dtype (activations.relu's keywords are not ops.relu's)."""
    return np.maximum(x, scalar(0, x))


def rsqrt(x: np.ndarray) -> np.ndarray:
    """rsqrt(x) = 1 / √x."""
    return scalar(1, x) / np.sqrt(x)


# Operations of one tensor, element by element, and no settings.
ELEMENTWISE_FUNCTIONS = {
    "Relu": rectified, "Sigmoid": sigmoid, "Silu": silu, "Tanh": np.tanh, "Erf": erf,
    "Rsqrt": rsqrt, "Log1p": np.log1p, "Sin": np.sin, "Cos": np.cos,
}  # fmt: skip
ELEMENTWISE = tuple(ELEMENTWISE_FUNCTIONS)
KEEPS_INTEGERS = frozenset({"Relu"})  # max(x, 0) of an integer x stays an integer
# The reductions over `axis` (with `keepdims`) of this file.
STATISTICS = ("Var", "Std", "Argmax", "Argmin", "Norm")


def _elementwise(name: str):
    function = ELEMENTWISE_FUNCTIONS[name]

    def elementwise(config: Config, weights: Weights, inputs: list[np.ndarray], training):
        """out = f(x), element by element, in x's dtype (an integer x as float32, but for
        Relu, which TensorFlow runs on integers too)."""
        x = operands(config, inputs)[0]
        return function(np.asarray(x) if name in KEEPS_INTEGERS else floating(x))

    return elementwise


for _name in ELEMENTWISE:
    forward(OPS_PREFIX + _name)(_elementwise(_name))


def axes(config: Config, rank: int) -> tuple[int, ...] | None:
    """`config["axis"]` as a tuple of axes (None: every axis)."""
    axis = config.get("axis")
    if axis is None:
        return None
    return tuple(int(a) % rank for a in (axis if isinstance(axis, list | tuple) else [axis]))


@forward(OPS_PREFIX + "Softmax")
def softmax_operation(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """softmax(x) = exp(x − max x) / Σ exp(x − max x) along `axis` (default −1; None: over
    every axis at once, as Keras' TensorFlow backend flattens)."""
    x = floating(operands(config, inputs)[0])
    over = axes({"axis": config.get("axis", -1)}, x.ndim)
    return softmax(x, axis=tuple(range(x.ndim)) if over is None else over)


@forward(OPS_PREFIX + "Gelu")
def gelu_operation(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """gelu(x): `approximate` (default True for `ops.gelu`, unlike `activation="gelu"`)
    x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))/2, else x·(1 + erf(x/√2))/2."""
    x = floating(operands(config, inputs)[0])
    return gelu(x, approximate=bool(config.get("approximate", True)))


@forward(OPS_PREFIX + "Clip")
def clip(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """out = min(max(x, x_min), x_max), in x's dtype (a bool x as int32)."""
    x = np.asarray(operands(config, inputs)[0])
    if x.dtype == np.bool_:
        x = x.astype("int32")
    return np.minimum(np.maximum(x, scalar(config["x_min"], x)), scalar(config["x_max"], x))


@forward(OPS_PREFIX + "Where")
def where(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """out = x1 where condition else x2, broadcast; a constant branch takes the other's dtype
    (two constants: float32 or int32, Keras' defaults)."""
    found = operands(config, inputs)
    if len(found) != 3 or found[1] is None or found[2] is None:
        raise UnsupportedModel("ops.where with the condition alone (nonzero) is not supported.")
    condition, x1, x2 = found
    arrays = [v for v in (x1, x2) if isinstance(v, np.ndarray)]
    if arrays:
        dtype = np.result_type(*arrays)
    else:
        dtype = FLOAT if isinstance(x1, float) or isinstance(x2, float) else np.dtype("int32")
    return np.where(
        np.asarray(condition).astype(bool), np.asarray(x1, dtype), np.asarray(x2, dtype)
    )


@forward(OPS_PREFIX + "Matmul")
def matmul(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """out = a @ b, NumPy's matmul: the last axis of a against the second to last of b,
    leading axes broadcast; a 1-D operand is a vector."""
    a, b = (np.asarray(v) for v in operands(config, inputs)[:2])
    return np.matmul(a, b)


@forward(OPS_PREFIX + "Einsum")
def einsum(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """out = einsum(subscripts, *operands): products over the shared letters, summed over
    the letters the output leaves out."""
    found = [np.asarray(v) for v in operands(config, inputs)]
    return np.einsum(str(config["subscripts"]), *found)


def _reduced_operand(config: Config, inputs: list[np.ndarray]) -> tuple[np.ndarray, Any, bool]:
    x = np.asarray(operands(config, inputs)[0])
    return x, axes(config, x.ndim), bool(config.get("keepdims", False))


@forward(OPS_PREFIX + "Var")
def var(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """out = mean((x − mean x)²) over `axis` (every axis when None), computed in at least
    float32."""
    x, over, keep = _reduced_operand(config, inputs)
    x = floating(x)
    computed = np.var(x.astype(np.result_type(x.dtype, FLOAT)), axis=over, keepdims=keep)
    return np.asarray(computed).astype(x.dtype)


@forward(OPS_PREFIX + "Std")
def std(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """out = √var(x) over `axis` (every axis when None)."""
    x, over, keep = _reduced_operand(config, inputs)
    return np.std(floating(x), axis=over, keepdims=keep)


ARG_FUNCTIONS = {"Argmax": np.argmax, "Argmin": np.argmin}


def _arg(name: str):
    function = ARG_FUNCTIONS[name]

    def arg(config: Config, weights: Weights, inputs: list[np.ndarray], training):
        """out = the index of the first extreme along `axis` (flattened when None), int32;
        −0.0 counts as just below 0.0, as Keras' TensorFlow backend makes it."""
        x, over, keep = _reduced_operand(config, inputs)
        if x.dtype.kind == "f" and x.ndim:
            x = x.astype(np.result_type(x.dtype, FLOAT))
            x = np.where((x == 0) & np.signbit(x), -np.finfo(x.dtype).tiny, x)
        axis = None if over is None else over[0]
        return np.asarray(function(x, axis=axis, keepdims=keep)).astype("int32")

    return arg


for _name in ARG_FUNCTIONS:
    forward(OPS_PREFIX + _name)(_arg(_name))


@forward(OPS_PREFIX + "Cumsum")
def cumsum(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """out[i] = x[0] + … + x[i] along `axis` (over the flattened x when None), in `dtype`
    when set, else x's (a bool x as int32)."""
    x = np.asarray(operands(config, inputs)[0])
    if config.get("dtype"):
        x = x.astype(str(config["dtype"]))
    if x.dtype == np.bool_:
        x = x.astype("int32")
    axis = config.get("axis")
    return np.cumsum(x, axis=None if axis is None else int(axis), dtype=x.dtype)


@forward(OPS_PREFIX + "Norm")
def norm(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """The vector norm over one axis (`ord` None or 2: √Σx²; inf, −inf, 0, p), or the
    matrix norm over two (None or "fro": √Σx²; 1, −1, inf, −inf, 2, −2, "nuc"), as
    `np.linalg.norm`; `axis` None is every axis."""
    x, over, keep = _reduced_operand(config, inputs)
    x = floating(x)
    over = tuple(range(x.ndim)) if over is None else over
    if len(over) > 2:
        raise UnsupportedModel("ops.norm over more than two axes is not supported.")
    result = np.linalg.norm(x, ord=config.get("ord"), axis=over, keepdims=keep)
    return np.asarray(result).astype(x.dtype)
