"""A small functional model for the graph's tests: a skip connection and a nested model."""

from __future__ import annotations

from tests.support.kerasref import keras


def residual_with_nested():
    """x → Dense a → Dense b; Add(x, b) → Sequential "inner" [Dense, Dense] → Dense head."""
    layers = keras.layers
    inputs = keras.Input((4,), name="x")
    a = layers.Dense(4, name="a")(inputs)
    b = layers.Dense(4, name="b")(a)
    added = layers.Add(name="skip_add")([inputs, b])
    inner = keras.Sequential(
        [keras.Input((4,)), layers.Dense(3, name="inner_dense"), layers.Dense(3, name="inner_out")],
        name="inner",
    )
    outputs = layers.Dense(2, name="head")(inner(added))
    return keras.Model(inputs, outputs, name="residual")
