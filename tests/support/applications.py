"""The keras.applications architectures the slow sweeps build: their smallest input sizes,
and BatchNormalization statistics randomized so that moving statistics of 0 and 1 hide
nothing."""

from __future__ import annotations

import numpy as np

from tests.support.kerasref import keras

# The smallest input each accepts (keras' `obtain_input_shape` min_size); 32 for the rest.
MIN_SIZES = {"InceptionV3": 75, "InceptionResNetV2": 75, "Xception": 71}
ARCHITECTURES = sorted(n for n in dir(keras.applications) if n[:1].isupper())


def batchnorm_layers(model) -> list:
    return [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]


def randomize_batchnorm(model, seed: int = 0) -> None:
    """gamma U(0.5, 1.5), beta N(0, 0.1), moving_mean N(0, 0.1), moving_variance U(0.5, 2)."""
    rng = np.random.default_rng(seed)
    draws = {
        "gamma": lambda n: rng.uniform(0.5, 1.5, n),
        "beta": lambda n: rng.normal(0.0, 0.1, n),
        "moving_mean": lambda n: rng.normal(0.0, 0.1, n),
        "moving_variance": lambda n: rng.uniform(0.5, 2.0, n),
    }
    for layer in batchnorm_layers(model):
        roles = [w.path.rsplit("/", 1)[-1] for w in layer.weights]
        shapes = [w.shape for w in layer.weights]
        layer.set_weights(
            [draws[r](n).astype(np.float32) for r, n in zip(roles, shapes, strict=True)]
        )


def application(name: str):
    """`keras.applications.<name>(weights=None)` at its smallest input size, BN randomized."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    size = MIN_SIZES.get(name, 32)
    model = getattr(keras.applications, name)(weights=None, input_shape=(size, size, 3))
    randomize_batchnorm(model)
    return model
