"""Tiny Keras models built in code, with seeded non-trivial weights (tests only)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tests.kerasref import keras

layers = keras.layers


def seeded(model, seed: int = 0):
    """Fill every weight with distinct values in [0.1, 1): no 0s and 1s to hide a swap."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.1, 1.0, w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


def dense_bn():
    return keras.Sequential(
        [keras.Input((6,)), layers.Dense(5), layers.BatchNormalization(), layers.Dense(3)]
    )


def bn_variants():
    return keras.Sequential(
        [
            keras.Input((4,)),
            layers.Dense(3),
            layers.BatchNormalization(center=False),
            layers.BatchNormalization(scale=False),
            layers.BatchNormalization(center=False, scale=False),
        ]
    )


def frozen_layers():
    return keras.Sequential(
        [
            keras.Input((4,)),
            layers.Dense(3, trainable=False),
            layers.BatchNormalization(trainable=False),
            layers.Dense(2),
        ]
    )


def branches_and_shared():
    x = keras.Input((4,))
    shared = layers.Dense(4)
    twice = shared(shared(x))
    side = layers.Dense(3)(x)
    out = layers.Dense(2)(layers.Concatenate()([twice, side]))
    return keras.Model(x, out)


def sequential_in_functional():
    inner = keras.Sequential(
        [keras.Input((4,)), layers.Dense(3), layers.BatchNormalization()], name="inner_seq"
    )
    x = keras.Input((4,))
    y = layers.Dense(4)(x)
    return keras.Model(x, layers.Dense(2)(inner(y)))


def functional_in_sequential():
    x = keras.Input((4,))
    y = layers.BatchNormalization(center=False)(layers.Dense(3)(x))
    inner = keras.Model(x, layers.Dense(5)(y), name="inner_fn")
    return keras.Sequential([keras.Input((4,)), layers.Dense(4), inner, layers.Dense(2)])


def conv_bn():
    return keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            layers.Conv2D(3, 3),
            layers.BatchNormalization(),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(2),
        ]
    )


def lstm():
    return keras.Sequential([keras.Input((5, 3)), layers.LSTM(4), layers.Dense(1)])


def bidirectional_gru():
    return keras.Sequential(
        [keras.Input((5, 3)), layers.Bidirectional(layers.GRU(3)), layers.Dense(1)]
    )


def attention():
    x = keras.Input((4, 6))
    y = layers.MultiHeadAttention(num_heads=2, key_dim=3)(x, x)
    return keras.Model(x, layers.Dense(1)(y))


BUILDERS: dict[str, Callable] = {
    f.__name__: f
    for f in (
        dense_bn,
        bn_variants,
        frozen_layers,
        branches_and_shared,
        sequential_in_functional,
        functional_in_sequential,
        conv_bn,
        lstm,
        bidirectional_gru,
        attention,
    )
}


def build(name: str):
    return seeded(BUILDERS[name]())
