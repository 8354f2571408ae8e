"""Core layers: Dense, EinsumDense, Embedding, Identity, Masking.

Masks are not propagated: each function computes the layer's output tensor only.
"""

from __future__ import annotations

import numpy as np

from app.reference import activations
from app.reference.forwards import (
    Config,
    Weights,
    forward,
    optional_weight,
    scalar,
    single,
    weight,
)


@forward("Dense")
def dense(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Dense: activation(x · kernel + bias).

    Shapes: x (N, …, in), kernel (in, units), bias (units,); output (N, …, units).
    """
    x = single(inputs)
    out = x @ weight(weights, "kernel")
    bias = optional_weight(weights, "bias")
    if bias is not None and config.get("use_bias", True):
        out = out + bias
    return activations.apply_activation(config.get("activation"), out)


@forward("EinsumDense")
def einsum_dense(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """EinsumDense: activation(einsum(equation, x, kernel) + bias).

    The bias (present when `bias_axes` is set) is stored already shaped to broadcast against
    the trailing output axes.
    """
    x = single(inputs)
    out = np.einsum(config["equation"], x, weight(weights, "kernel"), optimize=True)
    bias = optional_weight(weights, "bias")
    if bias is not None:
        out = out + bias
    return activations.apply_activation(config.get("activation"), out)


@forward("Embedding")
def embedding(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Embedding: output[…] = embeddings[ids[…]].

    Shapes: ids (N, …) integers in [0, input_dim), embeddings (input_dim, output_dim);
    output (N, …, output_dim). Float ids are truncated to int, as Keras casts them.
    """
    ids = single(inputs).astype(np.int64)
    if ids.size and ids.min() < 0:
        raise IndexError("Embedding ids must be non-negative")
    return np.take(weight(weights, "embeddings"), ids, axis=0)


@forward("Identity")
def identity(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Identity: output = x."""
    return single(inputs)


@forward("Masking")
def masking(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Masking: x where any feature of the timestep differs from mask_value, else 0.

    output[n, t, :] = x[n, t, :] if any(x[n, t, :] ≠ mask_value) else 0.
    """
    x = single(inputs)
    keep = np.any(x != scalar(config.get("mask_value", 0.0), x), axis=-1, keepdims=True)
    return np.where(keep, x, scalar(0.0, x))
