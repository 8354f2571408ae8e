"""Mistakes made on BatchNormalization (variants of app.reference.normalization's forward).

Keras at inference: gamma · (x − moving_mean) / √(moving_variance + epsilon) + beta, over
the channel `axis`; epsilon 1e-3 by default. The variants:

    batchnorm-batch-statistics   the batch's own mean and variance, as in training
                                 (forms: with the layer's epsilon, without, with 1e-5)
    batchnorm-variance-as-std    moving_variance taken for a standard deviation
                                 (÷ √(var² + ε), ÷ (var + ε), ÷ var)
    batchnorm-epsilon-left-out   ÷ √moving_variance
    batchnorm-pytorch-epsilon    PyTorch's default eps 1e-5 instead of the layer's
    batchnorm-weights-order      the four arrays in another order (each permutation)
    batchnorm-center-scale-as-on center or scale False, its arrays read by position as if
                                 all four were there (the missing last one at its initial 1)
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from app.diagnosis.catalogue import Config, Forms, Weights, finite_forms, mistake
from app.reference.forwards import optional_weight, single
from app.reference.normalization import affine, along, config_axes, moments

ROLES = ("gamma", "beta", "moving_mean", "moving_variance")
INITIAL = {"gamma": 1.0, "beta": 0.0, "moving_mean": 0.0, "moving_variance": 1.0}
PYTORCH_EPSILON = 1e-5
KERAS_EPSILON = 1e-3  # BatchNormalization's default


def _epsilon(config: Config) -> float:
    return float(config.get("epsilon", KERAS_EPSILON))


def _arrays(weights: Weights) -> dict[str, np.ndarray | None]:
    return {role: optional_weight(weights, role) for role in ROLES}


def _normalize(x: np.ndarray, config: Config, arrays: dict, epsilon: float, stats=None):
    """The layer's formula with `arrays` (role -> per-channel array or None) and `stats`
    (mean, variance) broadcast already, or the moving ones."""
    axes = config_axes(config, x.ndim)
    if stats is None:
        stats = along(arrays["moving_mean"], axes, x), along(arrays["moving_variance"], axes, x)
    gamma, beta = along(arrays["gamma"], axes, x), along(arrays["beta"], axes, x)
    return affine(x, stats[0], stats[1], epsilon, gamma, beta)


def _batch_explain(config: Config, weights: Weights) -> str:
    epsilon = _epsilon(config)
    factor = 1 / math.sqrt(1 + epsilon)
    return (
        "At inference (predict, or training=False) Keras' BatchNormalization normalizes with "
        "moving_mean and moving_variance, the statistics gathered while training, not with "
        "the batch's own mean and variance: yours are (x − batch mean) / √(batch variance "
        f"+ ε). For a layer never trained (moving_mean 0, moving_variance 1) Keras gives "
        f"x / √(1 + {epsilon:g}) = {factor:.7g} · x."
    )


@mistake(
    "batchnorm-batch-statistics",
    "BatchNormalization",
    "SyncBatchNormalization",
    title="Batch statistics at inference",
    explain=_batch_explain,
    fix="(x - moving_mean) / np.sqrt(moving_variance + epsilon) * gamma + beta  "
    "# not x.mean(axis=0), x.var(axis=0)",
)
def batch_statistics(config: Config, weights: Weights, inputs, theirs) -> Forms:
    x = single(inputs)
    axes = config_axes(config, x.ndim)
    stats = moments(x, tuple(a for a in range(x.ndim) if a not in axes))
    arrays = _arrays(weights)
    return finite_forms(
        {
            "with the layer's epsilon": _normalize(x, config, arrays, _epsilon(config), stats),
            "without epsilon": _normalize(x, config, arrays, 0.0, stats),
            "with PyTorch's eps 1e-5": _normalize(x, config, arrays, PYTORCH_EPSILON, stats),
        }
    )


@mistake(
    "batchnorm-variance-as-std",
    "BatchNormalization",
    "SyncBatchNormalization",
    title="moving_variance used as a standard deviation",
    explain="The fourth BatchNormalization array is moving_variance, a variance: Keras "
    "divides by its square root, √(moving_variance + ε). Yours divide by the array itself, "
    "as if it were a standard deviation.",
    fix="x_hat = (x - moving_mean) / np.sqrt(moving_variance + epsilon)  "
    "# not / (moving_variance + epsilon)",
)
def variance_as_std(config: Config, weights: Weights, inputs, theirs) -> Forms:
    x = single(inputs)
    arrays = _arrays(weights)
    variance, epsilon = arrays["moving_variance"], _epsilon(config)
    forms = {}
    for label, squared, eps in (
        ("÷ √(moving_variance² + ε)", np.square(variance), epsilon),
        ("÷ (moving_variance + ε)", np.square(variance + np.float32(epsilon)), 0.0),
        ("÷ moving_variance", np.square(variance), 0.0),
    ):
        forms[label] = _normalize(x, config, {**arrays, "moving_variance": squared}, eps)
    return finite_forms(forms)


@mistake(
    "batchnorm-epsilon-left-out",
    "BatchNormalization",
    "SyncBatchNormalization",
    title="epsilon left out",
    explain=lambda config, _w: (
        "Keras adds the layer's epsilon to the variance before the square root: "
        f"√(moving_variance + {_epsilon(config):g}). Yours leave it out, which matters most "
        "where the variance is small."
    ),
    fix="np.sqrt(moving_variance + epsilon)  # not np.sqrt(moving_variance)",
)
def epsilon_left_out(config: Config, weights: Weights, inputs, theirs) -> Forms:
    x = single(inputs)
    return finite_forms({"": _normalize(x, config, _arrays(weights), 0.0)})


@mistake(
    "batchnorm-pytorch-epsilon",
    "BatchNormalization",
    "SyncBatchNormalization",
    title="PyTorch's epsilon 1e-5 instead of the layer's",
    explain=lambda config, _w: (
        f"This layer's epsilon is {_epsilon(config):g} (Keras' default is 1e-3); yours use "
        "1e-5, PyTorch's BatchNorm default."
    ),
    fix="eps = layer.epsilon  # 1e-3 by default in Keras, not PyTorch's 1e-5",
)
def pytorch_epsilon(config: Config, weights: Weights, inputs, theirs) -> Forms:
    if _epsilon(config) == PYTORCH_EPSILON:
        return {}
    x = single(inputs)
    return finite_forms({"": _normalize(x, config, _arrays(weights), PYTORCH_EPSILON)})


@mistake(
    "batchnorm-weights-order",
    "BatchNormalization",
    "SyncBatchNormalization",
    title="The BatchNormalization arrays in another order",
    explain="get_weights() gives a BatchNormalization's arrays in the order gamma, beta, "
    "moving_mean, moving_variance (those present: center=False drops beta, scale=False "
    "gamma). Yours used them in another order, named in the form.",
    fix="gamma, beta, moving_mean, moving_variance = layer.get_weights()",
)
def weights_order(config: Config, weights: Weights, inputs, theirs) -> Forms:
    x = single(inputs)
    arrays = _arrays(weights)
    present = [role for role in ROLES if arrays[role] is not None]
    forms = {}
    for order in itertools.permutations(present):
        if list(order) != present:
            read = {
                **arrays,
                **{role: arrays[src] for role, src in zip(present, order, strict=True)},
            }
            label = "used as " + ", ".join(
                f"{src}→{role}" for role, src in zip(present, order, strict=True) if src != role
            )
            forms[label] = _normalize(x, config, read, _epsilon(config))
    return finite_forms(forms)


@mistake(
    "batchnorm-center-scale-as-on",
    "BatchNormalization",
    "SyncBatchNormalization",
    title="center or scale off, handled as if on",
    explain=lambda config, _w: (
        f"This layer has center={config.get('center', True)} and "
        f"scale={config.get('scale', True)}: it has no "
        + " and no ".join(
            r for r, k in (("beta", "center"), ("gamma", "scale")) if not config.get(k, True)
        )
        + ", so get_weights() gives fewer than four arrays. Yours read them by position as "
        "gamma, beta, moving_mean, moving_variance."
    ),
    fix="read the arrays by name: layer.moving_mean, layer.moving_variance (and layer.gamma, "
    "layer.beta when present)",
)
def center_scale_as_on(config: Config, weights: Weights, inputs, theirs) -> Forms:
    arrays = _arrays(weights)
    present = [arrays[role] for role in ROLES if arrays[role] is not None]
    if len(present) == len(ROLES):
        return {}
    x = single(inputs)
    channels = present[-1].shape
    filled = present + [np.full(channels, 1.0, x.dtype)] * (len(ROLES) - len(present))
    read = dict(zip(ROLES, filled, strict=True))
    return finite_forms({"": _normalize(x, config, read, _epsilon(config))})
