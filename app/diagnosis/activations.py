"""Mistakes made on activations (variants of app.reference.activations' forwards).

hard-sigmoid-keras2        Keras 2's hard_sigmoid, clip(0.2·x + 0.5, 0, 1), where Keras 3
                           computes relu6(x + 3) / 6 (Activation, Dense, Conv*)
softmax-wrong-axis         softmax over another axis than the layer's (a rank-3+ tensor;
                           one form per axis, and one over every axis but the batch)
relu-max-value-ignored     ReLU(max_value=...) computed without its cap
leakyrelu-slope            LeakyReLU with another negative slope than the layer's: 0.2
                           (tf.nn.leaky_relu's and Keras 3 `leaky_relu`'s default),
                           0.3 (the LeakyReLU layer's default) or 0.01 (PyTorch's)
"""

from __future__ import annotations

import numpy as np

from app.diagnosis.catalogue import Config, Forms, Weights, finite_forms, mistake
from app.reference import activations, forwards
from app.reference.forwards import scalar, single

SLOPES = (0.2, 0.3, 0.01)


def _activation_name(config: Config) -> str:
    spec = config.get("activation")
    name = spec.get("config") if isinstance(spec, dict) else spec
    return name if isinstance(name, str) else "linear"


def _class_of(config: Config) -> str:
    """Which class with an activation a config is (a replay is not told its layer's class)."""
    if "units" in config:
        return "Dense"
    if "filters" in config:
        kernel = config.get("kernel_size", 1)
        return f"Conv{len(kernel) if isinstance(kernel, list | tuple) else 1}D"
    return "Activation"


def _before_activation(config: Config, weights: Weights, inputs) -> np.ndarray:
    """The layer's output without its activation (the Activation layer's: its input)."""
    class_name = _class_of(config)
    if class_name == "Activation":
        return single(inputs)
    return forwards.run_layer(class_name, {**config, "activation": "linear"}, weights, inputs)


@mistake(
    "hard-sigmoid-keras2",
    "Activation",
    "Dense",
    "Conv1D",
    "Conv2D",
    "Conv3D",
    title="Keras 2's hard_sigmoid",
    explain="Keras 3's hard_sigmoid is relu6(x + 3) / 6, a slope of 1/6 between −3 and 3; "
    "Keras 2's was clip(0.2·x + 0.5, 0, 1), a slope of 0.2 between −2.5 and 2.5. Yours "
    "compute Keras 2's.",
    fix="np.clip(x / 6 + 0.5, 0, 1)  # Keras 3; not np.clip(0.2 * x + 0.5, 0, 1)",
)
def hard_sigmoid_keras2(config: Config, weights: Weights, inputs, theirs) -> Forms:
    if _activation_name(config) != "hard_sigmoid":
        return {}
    x = _before_activation(config, weights, inputs)
    keras2 = np.clip(scalar(0.2, x) * x + scalar(0.5, x), scalar(0.0, x), scalar(1.0, x))
    return finite_forms({"": keras2})


@mistake(
    "softmax-wrong-axis",
    "Softmax",
    title="Softmax over the wrong axis",
    explain=lambda config, _w: (
        f"This Softmax normalizes over axis {config.get('axis', -1)}; yours sum to 1 over "
        "another axis (named in the form)."
    ),
    fix="softmax(x, axis=layer.axis)  # -1 by default: the last axis",
)
def softmax_wrong_axis(config: Config, weights: Weights, inputs, theirs) -> Forms:
    x = inputs[0]
    if x.ndim < 3 or len(inputs) > 1:
        return {}
    axis = config.get("axis", -1)
    own = {a % x.ndim for a in (axis if isinstance(axis, list | tuple) else [axis])}
    forms = {f"over axis {a}": activations.softmax(x, axis=a) for a in range(x.ndim) if {a} != own}
    forms["over every axis but the batch"] = activations.softmax(x, axis=tuple(range(1, x.ndim)))
    return finite_forms(forms)


@mistake(
    "relu-max-value-ignored",
    "ReLU",
    title="ReLU's max_value ignored",
    explain=lambda config, _w: (
        f"This ReLU caps its output at max_value={config.get('max_value')}; yours do not."
    ),
    fix="np.minimum(np.maximum(x, 0), max_value)  # ReLU(max_value=...) caps the output",
)
def relu_max_value_ignored(config: Config, weights: Weights, inputs, theirs) -> Forms:
    if config.get("max_value") is None:
        return {}
    uncapped = {**config, "max_value": None}
    return finite_forms({"": forwards.run_layer("ReLU", uncapped, weights, inputs)})


@mistake(
    "leakyrelu-slope",
    "LeakyReLU",
    title="LeakyReLU with another slope",
    explain=lambda config, _w: (
        "This LeakyReLU's negative_slope is "
        f"{config.get('negative_slope', config.get('alpha', 0.3)):g} (the layer's default is "
        "0.3; tf.nn.leaky_relu and keras.activations.leaky_relu default to 0.2, PyTorch's "
        "LeakyReLU to 0.01); yours use another (named in the form)."
    ),
    fix="np.where(x > 0, x, layer.negative_slope * x)  # the layer's own slope",
)
def leakyrelu_slope(config: Config, weights: Weights, inputs, theirs) -> Forms:
    own = float(config.get("negative_slope", config.get("alpha", 0.3)))
    x = single(inputs)
    forms = {
        f"slope {slope:g}": activations.leaky_relu(x, negative_slope=slope)
        for slope in SLOPES
        if slope != own
    }
    return finite_forms(forms)
