"""Core, activation, regularization and preprocessing layers.

Dense, EinsumDense, Embedding, Identity, Masking; Activation, ReLU, LeakyReLU, PReLU, ELU,
Softmax; Dropout and its variants (identity); Rescaling and Normalization; the image
augmentation layers (identity at inference); Inception-ResNet-v2's CustomScaleLayer.

Masks are not propagated: each function computes the layer's output tensor only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.errors import UnsupportedModel
from app.graph import compute_dtype
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


@forward(
    "Identity",
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianDropout",
    "GaussianNoise",
    "AlphaDropout",
    "ActivityRegularization",
    "StochasticDepth",
)
def identity(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """output = x.

    Identity and ActivityRegularization always; the dropout/noise layers at inference. In
    training mode Keras' versions are random (a fresh mask or noise each call), so the
    reference returns x there too and comparisons run them with dropout off.
    """
    return single(inputs)


@forward("Masking")
def masking(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Masking: x where any feature of the timestep differs from mask_value, else 0.

    output[n, t, :] = x[n, t, :] if any(x[n, t, :] ≠ mask_value) else 0.
    """
    x = single(inputs)
    keep = np.any(x != scalar(config.get("mask_value", 0.0), x), axis=-1, keepdims=True)
    return np.where(keep, x, scalar(0.0, x))


@forward("Activation")
def activation_layer(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Activation: the named activation function, with its Keras defaults."""
    return activations.apply_activation(config.get("activation"), single(inputs))


@forward("ReLU")
def relu_layer(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """ReLU: min(x, max_value) for x > threshold, else negative_slope·(x − threshold)."""
    return activations.relu(
        single(inputs),
        negative_slope=float(config.get("negative_slope", 0.0) or 0.0),
        max_value=config.get("max_value"),
        threshold=float(config.get("threshold", 0.0) or 0.0),
    )


@forward("LeakyReLU")
def leaky_relu_layer(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """LeakyReLU: x if x > 0 else negative_slope·x (default 0.3; Keras 2 calls it alpha)."""
    slope = config.get("negative_slope", config.get("alpha", 0.3))
    return activations.leaky_relu(single(inputs), negative_slope=float(slope))


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
    return activations.elu(single(inputs), alpha=float(config.get("alpha", 1.0)))


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
        return activations.softmax(x, axis=axis)
    try:
        kept = np.broadcast_to(np.asarray(mask) > 0.5, x.shape)  # bool masks stay as they are
    except ValueError as exc:
        raise UnsupportedModel(
            "Softmax's mask does not broadcast to its input; Keras refuses it too."
        ) from exc
    out = activations.softmax(np.where(kept, x, scalar(-1e9, x)), axis=axis)
    return np.where(kept, out, scalar(0.0, out))


def config_value(value: Any) -> Any:
    """A config value that may be a serialized NumPy array (`{"class_name": "__numpy__"}`)."""
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        return value["config"]["value"]
    return value


@forward("Rescaling")
def rescaling(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Rescaling: x · scale + offset (scalars, or arrays broadcast over the last axes)."""
    x = single(inputs)
    scale = np.asarray(config_value(config["scale"]), dtype=x.dtype)
    offset = np.asarray(config_value(config.get("offset", 0.0)), dtype=x.dtype)
    return x * scale + offset


def _kept_axes(config: Config, rank: int) -> list[int]:
    axis = config.get("axis", -1)
    axes = () if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
    return sorted(int(a) % rank for a in axes)


def _statistic(config: Config, weights: Weights, name: str, x: np.ndarray) -> np.ndarray:
    """Normalization's `mean` or `variance` (from the config, else the adapted weight),
    reshaped to broadcast against x: its dims align with the kept axes, from the right."""
    kept = _kept_axes(config, x.ndim)
    given = config.get(name)
    value = weight(weights, name) if given is None else config_value(given)
    value = np.asarray(value, dtype=x.dtype)
    shape = [1] * x.ndim
    for i in range(1, value.ndim + 1):
        shape[kept[-i]] = value.shape[-i]
    return value.reshape(shape)


@forward("Normalization")
def normalization(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Normalization (preprocessing): (x − mean) / max(√variance, 1e-7).

    With `invert=True`: mean + x · max(√variance, 1e-7). mean/variance have one value per
    position of the kept `axis` (default −1), from the config or from `adapt()`.
    """
    x = single(inputs)
    mean = _statistic(config, weights, "mean", x)
    std = np.maximum(np.sqrt(_statistic(config, weights, "variance", x)), scalar(1e-7, x))
    if config.get("invert", False):
        return mean + x * std
    return (x - mean) / std


AUGMENTATIONS = {  # class -> what Keras draws at random in training mode
    "RandomFlip": "a flip",
    "RandomRotation": "an angle",
    "RandomZoom": "a zoom",
    "RandomTranslation": "a shift",
    "RandomContrast": "a contrast factor",
    "RandomBrightness": "a brightness delta",
    "RandomCrop": "a crop box",
}
# These cast the images to the layer's compute dtype even at inference; the others keep it.
CASTS_TO_COMPUTE_DTYPE = frozenset(
    {"RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation"}
)


def augmentation(class_name: str):
    """The forward of an image augmentation layer: output = x at inference (RandomFlip,
    RandomRotation, RandomZoom and RandomTranslation cast it to their compute dtype).

    In training mode Keras draws a fresh random transformation per call, which a reference
    cannot reproduce, so it refuses. RandomCrop is the identity at inference too in Keras 3
    (up to at least 3.15): its transform is skipped unless `training`, although its
    `compute_output_shape` and its documentation promise a center crop
    (keras-team/keras#21868).
    """

    def augment(config: Config, weights: Weights, inputs: list[np.ndarray], training):
        if training:
            raise UnsupportedModel(
                f"{class_name} draws {AUGMENTATIONS[class_name]} at random in training mode, "
                "which cannot be reproduced; run the check in inference mode.",
                {"class_name": class_name, "mode": "training"},
            )
        x = single(inputs)
        if class_name in CASTS_TO_COMPUTE_DTYPE:
            return x.astype(compute_dtype(config), copy=False)
        return x

    augment.__doc__ = augmentation.__doc__
    return augment


for _name in AUGMENTATIONS:
    forward(_name)(augmentation(_name))


@forward("CustomScaleLayer")
def custom_scale(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Inception-ResNet-v2's CustomScaleLayer: inputs[0] + inputs[1] · scale.

    The residual branch is scaled before it joins the shortcut; shapes broadcast.
    """
    shortcut, residual = inputs
    return shortcut + residual * scalar(config["scale"], residual)
