"""Regularization layers: Dropout and its variants, GaussianNoise, ActivityRegularization,
ConvNeXt's StochasticDepth.

All of them are the identity at inference. In training mode Keras' versions are random (a
fresh mask or noise each call), so the reference returns x there too and the check runs them
with dropout off; ActivityRegularization only adds a loss, never changes its input.
"""

from __future__ import annotations

import numpy as np

from app.reference.forwards import Config, Weights, forward, single


@forward(
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
def identity_at_inference(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """output = x (inference; training too, as the check runs these with dropout off)."""
    return single(inputs)
