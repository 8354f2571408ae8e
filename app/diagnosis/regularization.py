"""Mistakes made on Dropout (a variant of app.reference.regularization's identity).

Keras' Dropout is the identity at inference. The variants:

    dropout-at-inference-scaled  x / (1 − rate) (inverted dropout's training-time scale
                                 kept), or x · (1 − rate) (the old test-time scaling)
    dropout-at-inference-masked  a random mask applied: zeros where yours are 0, the rest
                                 scaled by 1 / (1 − rate). A mask is random, so this one is
                                 recognised only on the Dropout layer's own output (given by
                                 name, or the model's output), from where yours are zero.
"""

from __future__ import annotations

import numpy as np

from app.diagnosis.catalogue import Config, Forms, Weights, finite_forms, mistake
from app.reference.forwards import scalar, single

FIX = "model.predict(x)  # or model(x, training=False): dropout is the identity at inference"


def _rate(config: Config) -> float:
    return float(config.get("rate", 0.0))


@mistake(
    "dropout-at-inference-scaled",
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    title="Dropout's scaling applied at inference",
    explain=lambda config, _w: (
        "Keras' Dropout is the identity at inference; it scales by 1 / (1 − rate) only "
        f"while training, together with its mask. Yours scale by it (rate {_rate(config):g}) "
        "at inference too."
    ),
    fix=FIX,
)
def scaled(config: Config, weights: Weights, inputs, theirs) -> Forms:
    rate = _rate(config)
    if not 0 < rate < 1:
        return {}
    x = single(inputs)
    keep = scalar(1 - rate, x)
    return finite_forms({"÷ (1 − rate)": x / keep, "× (1 − rate)": x * keep})


@mistake(
    "dropout-at-inference-masked",
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    title="Dropout applied at inference",
    explain=lambda config, _w: (
        "Keras' Dropout is the identity at inference (predict, or training=False). Yours "
        f"zeroed a random part of the values (the layer's rate is {_rate(config):g}) and "
        "scaled the rest by 1 / (1 − rate): dropout in training mode."
    ),
    fix=FIX,
)
def masked(config: Config, weights: Weights, inputs, theirs) -> Forms:
    rate = _rate(config)
    x = single(inputs)
    if theirs is None or not 0 < rate < 1 or np.shape(theirs) != x.shape:
        return {}
    dropped = (np.asarray(theirs) == 0) & (x != 0)
    if not dropped.any():
        return {}
    zero, keep = scalar(0.0, x), scalar(1 - rate, x)
    return finite_forms(
        {
            "scaled by 1 / (1 − rate)": np.where(dropped, zero, x / keep),
            "not scaled": np.where(dropped, zero, x),
        }
    )
