"""Keras 3 activation functions in NumPy, by name (`keras.activations.get`), and the
activation layers: Activation, ReLU, LeakyReLU, PReLU, ELU, Softmax.

Each function takes `x` and Keras' keyword arguments with Keras' defaults, and returns an
array of `x`'s dtype; constants are cast to that dtype first so nothing is promoted to
float64. Formulas follow `keras/src/activations/activations.py` and the backends' `nn.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from app.errors import UnsupportedModel
from app.reference.forwards import Config, Weights, forward, scalar, single, weight

Activation = Callable[..., np.ndarray]

ACTIVATIONS: dict[str, Activation] = {}

# Abramowitz & Stegun 7.1.26: erf(x) = 1 − (a1·t + … + a5·t⁵)·exp(−x²), t = 1 / (1 + p·x),
# for x ≥ 0, max absolute error 1.5e-7 (below float32's resolution of gelu's output).
_ERF_P = 0.3275911
_ERF_A = (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)
# SELU's constants (Klambauer et al. 2017), as in Keras.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def activation(*names: str) -> Callable[[Activation], Activation]:
    """Register an activation under Keras' name(s) for it."""

    def decorate(fn: Activation) -> Activation:
        for name in names:
            ACTIVATIONS[name] = fn
        return fn

    return decorate


def get_activation(spec: Any) -> Activation:
    """The function for a config's `activation`: None, a name, or a serialized function.

    Keras 3 configs give a name (`"relu"`); a serialized function
    (`{"class_name": "function", "config": "relu", ...}`) is accepted too.
    """
    name = spec.get("config") if isinstance(spec, dict) else spec
    if name is None:
        return linear
    if isinstance(name, str) and name in ACTIVATIONS:
        return ACTIVATIONS[name]
    # A layer object or custom function: name it by its class, never echo its config.
    label = name if isinstance(name, str) else str(spec.get("class_name", "unknown"))
    raise UnsupportedModel(
        f"The activation {label!r} has no reference implementation.", {"activation": label}
    )


def apply_activation(spec: Any, x: np.ndarray) -> np.ndarray:
    """`get_activation(spec)(x)`."""
    return get_activation(spec)(x)


@activation("linear")
def linear(x: np.ndarray) -> np.ndarray:
    """linear(x) = x."""
    return x


@activation("relu")
def relu(
    x: np.ndarray,
    negative_slope: float = 0.0,
    max_value: float | None = None,
    threshold: float = 0.0,
) -> np.ndarray:
    """Keras' ReLU: f(x) = min(x, max_value) for x > threshold, else negative_slope·(x − threshold).

    Exactly as `ReLU.static_call`: the positive part is `where(x > threshold, x, 0)` (or
    max(x, 0)), clipped to [0, max_value]; then negative_slope · relu(threshold − x) is
    subtracted. With only negative_slope set it is leaky_relu.
    """
    if negative_slope != 0.0 and max_value is None and threshold == 0:
        return leaky_relu(x, negative_slope)
    zero = scalar(0.0, x)
    negative_part = np.maximum(scalar(threshold, x) - x, zero) if negative_slope else None
    if threshold != 0:
        out = np.where(x > scalar(threshold, x), x, zero)
    else:
        out = np.maximum(x, zero)
    if max_value is not None:
        out = np.clip(out, zero, scalar(max_value, x))
    if negative_part is not None:
        out = out - scalar(negative_slope, x) * negative_part
    return out


@activation("relu6")
def relu6(x: np.ndarray) -> np.ndarray:
    """relu6(x) = min(max(x, 0), 6)."""
    return np.minimum(np.maximum(x, scalar(0.0, x)), scalar(6.0, x))


@activation("leaky_relu")
def leaky_relu(x: np.ndarray, negative_slope: float = 0.2) -> np.ndarray:
    """leaky_relu(x) = x if x > 0 else negative_slope·x."""
    return np.where(x > 0, x, scalar(negative_slope, x) * x)


@activation("elu")
def elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """elu(x) = x if x > 0 else alpha·(exp(x) − 1)."""
    return np.where(x > 0, x, scalar(alpha, x) * np.expm1(np.minimum(x, scalar(0.0, x))))


@activation("selu")
def selu(x: np.ndarray) -> np.ndarray:
    """selu(x) = scale·elu(x, alpha), scale ≈ 1.0507, alpha ≈ 1.6733."""
    return scalar(_SELU_SCALE, x) * elu(x, _SELU_ALPHA)


@activation("celu")
def celu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """celu(x) = max(x, 0) + alpha·(exp(min(x, 0) / alpha) − 1)."""
    zero, a = scalar(0.0, x), scalar(alpha, x)
    return np.maximum(x, zero) + a * np.expm1(np.minimum(x, zero) / a)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), odd in x."""
    ax = np.abs(x)
    t = scalar(1.0, x) / (scalar(1.0, x) + scalar(_ERF_P, x) * ax)
    poly = scalar(_ERF_A[0], x)
    for a in _ERF_A[1:]:
        poly = poly * t + scalar(a, x)
    return np.sign(x) * (scalar(1.0, x) - poly * t * np.exp(-ax * ax))


@activation("gelu")
def gelu(x: np.ndarray, approximate: bool = False) -> np.ndarray:
    """gelu(x) = x·Φ(x) = x·(1 + erf(x/√2))/2.

    approximate=True: x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))/2.
    `keras.activations.gelu` (hence `activation="gelu"`) defaults to the exact form.
    """
    half, one = scalar(0.5, x), scalar(1.0, x)
    if approximate:
        inner = scalar(np.sqrt(2.0 / np.pi), x) * (x + scalar(0.044715, x) * x**3)
        return half * x * (one + np.tanh(inner))
    return half * x * (one + erf(x / scalar(np.sqrt(2.0), x)))


@activation("sigmoid")
def sigmoid(x: np.ndarray) -> np.ndarray:
    """sigmoid(x) = 1 / (1 + exp(−x)), evaluated with exp(−|x|) so it never overflows."""
    e = np.exp(-np.abs(x))
    one = scalar(1.0, x)
    return np.where(x >= 0, one / (one + e), e / (one + e))


@activation("hard_sigmoid")
def hard_sigmoid(x: np.ndarray) -> np.ndarray:
    """Keras 3: hard_sigmoid(x) = relu6(x + 3) / 6 (0 below −3, 1 above 3)."""
    return relu6(x + scalar(3.0, x)) / scalar(6.0, x)


@activation("hard_silu", "hard_swish")
def hard_silu(x: np.ndarray) -> np.ndarray:
    """hard_silu(x) = x · hard_sigmoid(x)."""
    return x * hard_sigmoid(x)


@activation("silu", "swish")
def silu(x: np.ndarray) -> np.ndarray:
    """silu(x) = x · sigmoid(x)."""
    return x * sigmoid(x)


@activation("softmax")
def softmax(x: np.ndarray, axis: int | tuple[int, ...] = -1) -> np.ndarray:
    """softmax(x)_i = exp(x_i − max x) / Σ_j exp(x_j − max x) along `axis`."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


@activation("log_softmax")
def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log_softmax(x) = x − max x − log Σ exp(x − max x) along `axis`."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


@activation("softplus")
def softplus(x: np.ndarray) -> np.ndarray:
    """softplus(x) = log(1 + exp(x)), as logaddexp(x, 0)."""
    return np.logaddexp(x, scalar(0.0, x))


@activation("log_sigmoid")
def log_sigmoid(x: np.ndarray) -> np.ndarray:
    """log_sigmoid(x) = −softplus(−x)."""
    return -softplus(-x)


@activation("softsign")
def softsign(x: np.ndarray) -> np.ndarray:
    """softsign(x) = x / (1 + |x|)."""
    return x / (scalar(1.0, x) + np.abs(x))


@activation("tanh")
def tanh(x: np.ndarray) -> np.ndarray:
    """tanh(x)."""
    return np.tanh(x)


@activation("tanh_shrink")
def tanh_shrink(x: np.ndarray) -> np.ndarray:
    """tanh_shrink(x) = x − tanh(x)."""
    return x - np.tanh(x)


@activation("hard_tanh")
def hard_tanh(x: np.ndarray) -> np.ndarray:
    """hard_tanh(x) = clip(x, −1, 1)."""
    return np.clip(x, scalar(-1.0, x), scalar(1.0, x))


@activation("exponential")
def exponential(x: np.ndarray) -> np.ndarray:
    """exponential(x) = exp(x); overflows to inf (from x ≈ 88.7 in float32) as Keras does."""
    with np.errstate(over="ignore"):
        return np.exp(x)


@activation("mish")
def mish(x: np.ndarray) -> np.ndarray:
    """mish(x) = x · tanh(softplus(x))."""
    return x * np.tanh(softplus(x))


@activation("glu")
def glu(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """glu(x) = a · sigmoid(b), where a, b are the two halves of x along `axis`."""
    a, b = np.split(x, 2, axis=axis)
    return a * sigmoid(b)


@activation("sparse_plus")
def sparse_plus(x: np.ndarray) -> np.ndarray:
    """sparse_plus(x) = 0 for x ≤ −1, (x + 1)²/4 for −1 < x < 1, x for x ≥ 1."""
    zero, one = scalar(0.0, x), scalar(1.0, x)
    return np.where(x <= -one, zero, np.where(x < one, (x + one) ** 2 / scalar(4.0, x), x))


@activation("sparse_sigmoid")
def sparse_sigmoid(x: np.ndarray) -> np.ndarray:
    """sparse_sigmoid(x) = 0 for x ≤ −1, (x + 1)/2 for −1 < x < 1, 1 for x ≥ 1."""
    zero, one = scalar(0.0, x), scalar(1.0, x)
    return np.where(x <= -one, zero, np.where(x >= one, one, scalar(0.5, x) * (x + one)))


@activation("squareplus")
def squareplus(x: np.ndarray, b: float = 4) -> np.ndarray:
    """squareplus(x) = (x + √(x² + b)) / 2."""
    return (x + np.sqrt(x * x + scalar(b, x))) / scalar(2.0, x)


@activation("soft_shrink")
def soft_shrink(x: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """soft_shrink(x) = x − t for x > t, x + t for x < −t, else 0."""
    t = scalar(threshold, x)
    return np.where(x > t, x - t, np.where(x < -t, x + t, scalar(0.0, x)))


@activation("hard_shrink")
def hard_shrink(x: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """hard_shrink(x) = x where |x| > threshold, else 0."""
    return np.where(np.abs(x) > scalar(threshold, x), x, scalar(0.0, x))


@activation("threshold")
def threshold(x: np.ndarray, threshold: float, default_value: float) -> np.ndarray:
    """threshold(x) = x where x > threshold, else default_value."""
    return np.where(x > scalar(threshold, x), x, scalar(default_value, x))


@activation("sparsemax")
def sparsemax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """sparsemax(x) = max(x − τ, 0), τ chosen so the outputs along `axis` sum to 1.

    With z sorted descending and k = #{i : z_i − (Σ_{j≤i} z_j − 1)/i > 0},
    τ = (Σ_{j≤k} z_j − 1) / k.
    """
    z = -np.sort(-x, axis=axis)
    cumsum = np.cumsum(z, axis=axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    rank = np.arange(1, x.shape[axis] + 1, dtype=x.dtype).reshape(shape)
    support = z - (cumsum - scalar(1.0, x)) / rank > 0
    k = np.sum(support, axis=axis, keepdims=True).astype(x.dtype)
    total = np.sum(np.where(support, cumsum, scalar(0.0, x)), axis=axis, keepdims=True)
    tau = (total - scalar(1.0, x)) / k
    return np.maximum(x - tau, scalar(0.0, x))


# The activation layers ----------------------------------------------------------------------


@forward("Activation")
def activation_layer(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Activation: the named activation function, with its Keras defaults."""
    return apply_activation(config.get("activation"), single(inputs))


@forward("ReLU")
def relu_layer(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """ReLU: min(x, max_value) for x > threshold, else negative_slope·(x − threshold)."""
    return relu(
        single(inputs),
        negative_slope=float(config.get("negative_slope", 0.0) or 0.0),
        max_value=config.get("max_value"),
        threshold=float(config.get("threshold", 0.0) or 0.0),
    )


@forward("ThresholdedReLU")
def thresholded_relu_layer(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """ThresholdedReLU (Keras 2): x for x > theta, else 0, as tf.keras computes it:
    `x · cast(x > theta)`, theta in the input's float type (an input of exactly theta gives 0;
    −0 for a negative one; NaN for ±inf below theta)."""
    x = single(inputs)
    theta = scalar(float(config.get("theta", 1.0)), x)
    with np.errstate(invalid="ignore"):  # ±inf · 0 is NaN, as in TensorFlow
        return x * (x > theta).astype(x.dtype)


@forward("LeakyReLU")
def leaky_relu_layer(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """LeakyReLU: x if x > 0 else negative_slope·x (default 0.3; Keras 2 calls it alpha)."""
    slope = config.get("negative_slope", config.get("alpha", 0.3))
    return leaky_relu(single(inputs), negative_slope=float(slope))


@forward("PReLU")
def prelu_layer(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """PReLU: max(x, 0) − alpha · max(−x, 0).

    Shapes: x (N, *D); alpha D with 1 on the `shared_axes`; output like x.
    """
    x = single(inputs)
    alpha = weight(weights, "alpha").astype(x.dtype)
    zero = scalar(0.0, x)
    return np.maximum(x, zero) - alpha * np.maximum(-x, zero)


@forward("ELU")
def elu_layer(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """ELU: x if x > 0 else alpha·(exp(x) − 1)."""
    return elu(single(inputs), alpha=float(config.get("alpha", 1.0)))


@forward("Softmax")
def softmax_layer(config: Config, weights: Weights, inputs: list[np.ndarray], training, masks=None):
    """Softmax: exp(x − max) / Σ exp(x − max) over `axis` (an int or a list of axes).

    With a mask (the input's own, or a second input), as Keras' layer: x where the mask
    holds, −1e9 elsewhere, then the softmax, then 0 where masked (the mask broadcasts from
    the last axis, as Keras requires).
    """
    axis = config.get("axis", -1)
    axis = tuple(axis) if isinstance(axis, list | tuple) else int(axis)
    x = inputs[0]
    mask = inputs[1] if len(inputs) > 1 else (masks or [None])[0]
    if mask is None:
        return softmax(x, axis=axis)
    try:
        kept = np.broadcast_to(np.asarray(mask) > 0.5, x.shape)  # bool masks stay as they are
    except ValueError as exc:
        raise UnsupportedModel(
            "Softmax's mask does not broadcast to its input; Keras refuses it too."
        ) from exc
    out = softmax(np.where(kept, x, scalar(-1e9, x)), axis=axis)
    return np.where(kept, out, scalar(0.0, out))
