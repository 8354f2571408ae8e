"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot.

Element-wise merges broadcast like Keras: inputs of lower rank first get size-1 axes inserted
after the batch axis (`expand_dims(x, 1)`), then NumPy broadcasting applies.
"""

from __future__ import annotations

from functools import reduce

import numpy as np

from app.reference.forwards import Config, Weights, forward, scalar


def aligned(inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Give every input the largest rank by inserting axes at position 1, as Keras' Merge does."""
    rank = max(x.ndim for x in inputs)
    return [x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]) for x in inputs]


@forward("Add")
def add(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Add: x₁ + x₂ + … + xₙ."""
    return reduce(np.add, aligned(inputs))


@forward("Subtract")
def subtract(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Subtract: x₁ − x₂ (exactly two inputs)."""
    if len(inputs) != 2:
        raise ValueError("Subtract takes exactly two inputs")
    first, second = aligned(inputs)
    return first - second


@forward("Multiply")
def multiply(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Multiply: x₁ · x₂ · … · xₙ (element-wise)."""
    return reduce(np.multiply, aligned(inputs))


@forward("Average")
def average(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Average: (x₁ + … + xₙ) / n."""
    total = reduce(np.add, aligned(inputs))
    return total / scalar(len(inputs), total)


@forward("Maximum")
def maximum(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Maximum: element-wise max(x₁, …, xₙ)."""
    return reduce(np.maximum, aligned(inputs))


@forward("Minimum")
def minimum(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Minimum: element-wise min(x₁, …, xₙ)."""
    return reduce(np.minimum, aligned(inputs))


@forward("Concatenate")
def concatenate(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Concatenate: the inputs joined along `axis` (default −1)."""
    return np.concatenate(inputs, axis=int(config.get("axis", -1)))


def dot_axes(config: Config, ranks: tuple[int, int]) -> tuple[int, int]:
    """Dot's `axes` (an int or a pair; negative counts from the end) as non-negative ints."""
    axes = config.get("axes", -1)
    pair = (axes, axes) if isinstance(axes, int) else tuple(axes)
    return tuple(int(a) % r if int(a) < 0 else int(a) for a, r in zip(pair, ranks, strict=True))


def l2_normalize(x: np.ndarray, axis: int) -> np.ndarray:
    """x / max(‖x‖₂ along axis, 1e-7), as keras.ops.normalize with Keras' epsilon."""
    norm = np.sqrt(np.sum(np.square(x), axis=axis, keepdims=True))
    return x / np.maximum(norm, scalar(1e-7, x))


@forward("Dot")
def dot(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Dot: per sample, the sum over x[axes[0]] · y[axes[1]] (cosine when `normalize`).

    out[n, i…, j…] = Σ_k x[n, i…, k, …] · y[n, …, k, j…]. Shapes: x (N, *A), y (N, *B);
    output (N, *A∖a, *B∖b), or (N, 1) when both inputs are (N, d).
    """
    x, y = inputs
    ax, ay = dot_axes(config, (x.ndim, y.ndim))
    if config.get("normalize", False):
        x, y = l2_normalize(x, ax), l2_normalize(y, ay)
    x = np.moveaxis(x, ax, -1)
    y = np.moveaxis(y, ay, 1)
    out = x.reshape(x.shape[0], -1, x.shape[-1]) @ y.reshape(y.shape[0], y.shape[1], -1)
    out = out.reshape(x.shape[0], *x.shape[1:-1], *y.shape[2:])
    return out.reshape(-1, 1) if out.ndim == 1 else out


@forward("CustomScaleLayer")
def custom_scale(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Inception-ResNet-v2's CustomScaleLayer: inputs[0] + inputs[1] · scale.

    The residual branch is scaled before it joins the shortcut; shapes broadcast.
    """
    shortcut, residual = inputs
    return shortcut + residual * scalar(config["scale"], residual)
