"""Mistakes made on Dense (variants of app.reference.core's forward).

Keras: activation(x · kernel + bias), kernel (in, units). The variants:

    dense-kernel-transposed      x · kernelᵀ (a square kernel), or the kernel's values read
                                 as PyTorch's (units, in) layout: kernel.reshape(units, in)ᵀ
    dense-bias-left-out          activation(x · kernel)
    dense-activation-left-out    x · kernel + bias, the activation forgotten
    dense-activation-twice       activation(activation(x · kernel + bias))
    dense-other-activation       sigmoid where the layer has softmax, or softmax for sigmoid
"""

from __future__ import annotations

import numpy as np

from app.diagnosis.catalogue import Config, Forms, Weights, finite_forms, mistake
from app.reference import activations
from app.reference.forwards import optional_weight, single, weight

SWAPPED = {"softmax": "sigmoid", "sigmoid": "softmax"}


def _activation_name(config: Config) -> str:
    spec = config.get("activation")
    name = spec.get("config") if isinstance(spec, dict) else spec
    return name if isinstance(name, str) else "linear"


def _bias(config: Config, weights: Weights) -> np.ndarray | None:
    return optional_weight(weights, "bias") if config.get("use_bias", True) else None


def _dense(x: np.ndarray, kernel: np.ndarray, bias, activation: str) -> np.ndarray:
    out = x @ kernel
    if bias is not None:
        out = out + bias
    return activations.apply_activation(activation, out)


@mistake(
    "dense-kernel-transposed",
    "Dense",
    title="Dense kernel transposed",
    explain="A Keras Dense kernel has shape (inputs, units) and computes x · kernel; "
    "PyTorch's Linear stores (units, inputs) and computes x · Wᵀ. Yours used the kernel "
    "the other way round.",
    fix="out = x @ kernel + bias  # kernel as stored, (inputs, units); not kernel.T",
)
def kernel_transposed(config: Config, weights: Weights, inputs, theirs) -> Forms:
    x, kernel = single(inputs), weight(weights, "kernel")
    if kernel.ndim != 2:
        return {}
    bias, act = _bias(config, weights), _activation_name(config)
    forms = {}
    if kernel.shape[0] == kernel.shape[1]:
        forms["x · kernelᵀ"] = _dense(x, kernel.T, bias, act)
    units, fan_in = kernel.shape[1], kernel.shape[0]
    if units > 1 and fan_in > 1:
        forms["kernel read as (units, inputs)"] = _dense(
            x, kernel.reshape(units, fan_in).T, bias, act
        )
    return finite_forms(forms)


@mistake(
    "dense-bias-left-out",
    "Dense",
    title="Dense bias left out",
    explain="Keras' Dense adds its bias (use_bias=True, the default) before the activation; "
    "yours leave it out.",
    fix="out = activation(x @ kernel + bias)  # not activation(x @ kernel)",
)
def bias_left_out(config: Config, weights: Weights, inputs, theirs) -> Forms:
    bias = _bias(config, weights)
    if bias is None or not np.any(bias):
        return {}
    x = single(inputs)
    return finite_forms({"": _dense(x, weight(weights, "kernel"), None, _activation_name(config))})


@mistake(
    "dense-activation-left-out",
    "Dense",
    title="Dense activation left out",
    explain=lambda config, _w: (
        f"This Dense layer applies its activation, {_activation_name(config)}, to "
        "x · kernel + bias; yours stop before it."
    ),
    fix="out = activation(x @ kernel + bias)  # the layer's own activation",
)
def activation_left_out(config: Config, weights: Weights, inputs, theirs) -> Forms:
    if _activation_name(config) == "linear":
        return {}
    x = single(inputs)
    return finite_forms(
        {"": _dense(x, weight(weights, "kernel"), _bias(config, weights), "linear")}
    )


@mistake(
    "dense-activation-twice",
    "Dense",
    title="Dense activation applied twice",
    explain=lambda config, _w: (
        f"This Dense layer already applies {_activation_name(config)} itself; yours apply it "
        "again to its output (an Activation after a Dense that has one, or a loss or "
        "post-processing step that applies it once more)."
    ),
    fix="probabilities = model(x)  # the layer applies its activation once; do not apply it again",
)
def activation_twice(config: Config, weights: Weights, inputs, theirs) -> Forms:
    act = _activation_name(config)
    if act == "linear":
        return {}
    x = single(inputs)
    once = _dense(x, weight(weights, "kernel"), _bias(config, weights), act)
    return finite_forms({"": activations.apply_activation(act, once)})


@mistake(
    "dense-other-activation",
    "Dense",
    title="Sigmoid and softmax confused",
    explain=lambda config, _w: (
        f"This Dense layer's activation is {_activation_name(config)}; yours apply "
        f"{SWAPPED.get(_activation_name(config), 'another')}. Softmax makes each sample's "
        "units sum to 1 (one class among many); sigmoid squashes each unit on its own "
        "(independent labels)."
    ),
    fix="use the layer's config['activation'] (softmax vs sigmoid)",
)
def other_activation(config: Config, weights: Weights, inputs, theirs) -> Forms:
    other = SWAPPED.get(_activation_name(config))
    if other is None:
        return {}
    x = single(inputs)
    return finite_forms(
        {other: _dense(x, weight(weights, "kernel"), _bias(config, weights), other)}
    )
