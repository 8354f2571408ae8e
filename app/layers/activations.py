"""Activation layers: Activation, ReLU, LeakyReLU, PReLU, ELU, Softmax, ThresholdedReLU.

All keep the input's shape; only PReLU has a weight. ThresholdedReLU is Keras 2's (tf.keras,
tf_keras): Keras 3 has no such class, and the check's Keras 3 copy gives it as the ReLU that
computes the same (app.check.keras3_copy).
"""

from __future__ import annotations

from app.layers.fields import NON_NEGATIVE_NUMBER
from app.layers.registry import (
    LAYERS_MODULE,
    Config,
    Traits,
    WeightSpec,
    register,
    same_shape,
    single,
)

FAMILY = "activations"
PASSES_MASK = Traits(passes_mask=True)  # every activation layer

SUMMARIES = {
    "Activation": "output = activation(inputs), the named activation applied element-wise.",
    "ReLU": (
        "output = min(x, max_value) for x > threshold, else negative_slope · (x − threshold)."
    ),
    "LeakyReLU": "output = x for x ≥ 0, else negative_slope · x (Keras 2: alpha · x).",
    "ELU": "output = x for x > 0, else alpha · (exp(x) − 1).",
}

for _name, _summary in SUMMARIES.items():
    register(_name, family=FAMILY, summary=_summary, traits=PASSES_MASK)(same_shape)

register(
    "Softmax",
    family=FAMILY,
    summary="output = exp(x) / Σ exp(x) over `axis`.",
    traits=PASSES_MASK,
    modules=(LAYERS_MODULE, "keras.src.ops.nn"),  # a Functional config's ops.softmax, too
)(same_shape)


def _shared_axes(config: Config) -> list[int]:
    shared = config.get("shared_axes")
    if shared is None:
        return []
    return [int(a) for a in (shared if isinstance(shared, list | tuple) else [shared])]


def prelu_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """alpha (trainable), the input's shape without the batch axis, with a 1 on every axis
    in `shared_axes` (e.g. (None, 8, 8, 3) with shared_axes [1, 2]: (1, 1, 3))."""
    shape = list(single(input_shapes)[1:])
    for axis in _shared_axes(config):
        shape[axis - 1] = 1
    if None in shape:
        raise ValueError("PReLU needs every axis it does not share to have a known size")
    return [WeightSpec("alpha", "alpha", tuple(int(d) for d in shape))]


register(
    "PReLU",
    family=FAMILY,
    summary="output = x for x ≥ 0, else alpha · x, with a learned alpha per position.",
    weights=prelu_weights,
    traits=PASSES_MASK,
)(same_shape)


register(
    "ThresholdedReLU",
    family=FAMILY,
    summary="output = x for x > theta, else 0 (Keras 2 and tf.keras; Keras 3 has no such class).",
    traits=PASSES_MASK,
    fields={"theta": NON_NEGATIVE_NUMBER},
)(same_shape)
