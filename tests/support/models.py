"""The Keras models the tests share, built in code, tiny, seeded (tests only; imports keras).

randomize_weights   the one weight randomiser: every float weight seeded, none 0 or 1
seed_model          DESIGN.md's Dense → BatchNormalization → Dropout → Dense
seed_batchnorm      DESIGN.md's BatchNormalization(axis=1) question, on SEED_INPUT
small_model         Dense → BatchNormalization → Dense, randomised: the quick upload
BUILDERS, build     structural variety for the readers (nesting, sharing, RNN, ...)
KERAS2_SEQUENTIAL   Keras 2 `to_json()` texts as those versions wrote them
slow_model          a tiny file that predicts for ~30 s (timeouts, kills, busy queues)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

from tests.support.kerasref import keras

layers = keras.layers

# Weights that must stay positive (variances); the rest are drawn from Normal(0, 0.5).
POSITIVE = ("moving_variance", "variance")

SEED_INPUT = np.array([[0, 1], [2, 3]], dtype="float32")


def randomize_weights(target: Any, seed: int = 0) -> Any:
    """Seeded values for every float weight of a model or layer: Normal(0, 0.5), and
    U(0.5, 2) for variances. No weight keeps a 0 or 1 that would hide a swapped weight or a
    skipped term (BatchNormalization's statistics included). Returns `target`."""
    rng = np.random.default_rng(seed)
    values = []
    for w in target.weights:
        role = w.path.rsplit("/", 1)[-1]
        current = np.asarray(w.numpy())
        if not np.issubdtype(current.dtype, np.floating):
            values.append(current)
        elif role in POSITIVE:
            values.append(rng.uniform(0.5, 2.0, current.shape).astype(current.dtype))
        else:
            values.append((0.5 * rng.normal(size=current.shape)).astype(current.dtype))
    target.set_weights(values)
    # Normalization caches mean/variance from its adapted weights; loading a saved model
    # calls finalize_state, set_weights does not.
    if hasattr(target, "finalize_state"):
        target.finalize_state()
    return target


def seed_model(**batchnorm: Any):
    """DESIGN.md's: Input((4096,)) → Dense(512, relu) → BatchNormalization(**batchnorm)
    → Dropout(0.5) → Dense(80, sigmoid); Keras' initial weights."""
    return keras.Sequential(
        [
            keras.Input((4096,)),
            layers.Dense(512, activation="relu"),
            layers.BatchNormalization(**batchnorm),
            layers.Dropout(0.5),
            layers.Dense(80, activation="sigmoid"),
        ]
    )


def seed_batchnorm():
    """DESIGN.md's question: Input((2,)) → BatchNormalization(axis=1), fresh (gamma 1, beta 0,
    moving_mean 0, moving_variance 1), asked about SEED_INPUT."""
    return keras.Sequential([keras.Input((2,)), layers.BatchNormalization(axis=1)])


def seed_spec() -> str:
    """`seed_batchnorm()` as a spec (`to_json()`)."""
    return seed_batchnorm().to_json()


def small_model():
    """Input((6,)) → Dense(5) → BatchNormalization → Dense(3), weights randomised."""
    return randomize_weights(dense_bn())


def dense_bn_dense(dropout: float | None = None):
    """Input((4,)) → Dense(3, relu) → BatchNormalization → [Dropout] → Dense(2), randomised."""
    inner = [layers.Dense(3, activation="relu"), layers.BatchNormalization()]
    if dropout is not None:
        inner.append(layers.Dropout(dropout))
    model = keras.Sequential([keras.Input((4,)), *inner, layers.Dense(2)])
    return randomize_weights(model, seed=7)


def slow_model(steps: int = 2_000_000):
    """Input((1,)) → RepeatVector(steps) → LSTM(4): a tiny file that predicts for ~30 s."""
    return keras.Sequential([keras.Input((1,)), layers.RepeatVector(steps), layers.LSTM(4)])


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
    return randomize_weights(BUILDERS[name]())


# A Keras 2.4 `to_json()`, as written: Dense(4) on 3 inputs, then BatchNormalization.
# Dense 3·4 + 4 = 16; BN 4 · 4 = 16 (8 trainable, 8 not): total 32, trainable 24.
KERAS2_SEQUENTIAL = (
    '{"class_name": "Sequential", "config": {"name": "sequential", "layers": ['
    '{"class_name": "InputLayer", "config": {"batch_input_shape": [null, 3], "dtype": "float32",'
    ' "sparse": false, "ragged": false, "name": "dense_input"}},'
    '{"class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": "float32",'
    ' "units": 4, "activation": "relu", "use_bias": true}},'
    '{"class_name": "BatchNormalization", "config": {"name": "batch_normalization",'
    ' "trainable": true, "dtype": "float32", "axis": [1], "momentum": 0.99, "epsilon": 0.001,'
    ' "center": true, "scale": true}}]}, "keras_version": "2.4.0", "backend": "tensorflow"}'
)

# A Keras 2.2 functional `to_json()`: class `Model`, inbound nodes as lists.
# Dense 5·2 + 2 = 12 twice (shared, counted once) + Dense 2·1 + 1 = 3: total 15.
KERAS2_FUNCTIONAL = json.dumps(
    {
        "class_name": "Model",
        "keras_version": "2.2.4",
        "backend": "tensorflow",
        "config": {
            "name": "model_1",
            "layers": [
                {"name": "input_1", "class_name": "InputLayer",
                 "config": {"batch_input_shape": [None, 5], "name": "input_1"},
                 "inbound_nodes": []},
                {"name": "input_2", "class_name": "InputLayer",
                 "config": {"batch_input_shape": [None, 5], "name": "input_2"},
                 "inbound_nodes": []},
                {"name": "shared", "class_name": "Dense",
                 "config": {"name": "shared", "units": 2, "use_bias": True},
                 "inbound_nodes": [[["input_1", 0, 0, {}]], [["input_2", 0, 0, {}]]]},
                {"name": "head", "class_name": "Dense",
                 "config": {"name": "head", "units": 1, "use_bias": True},
                 "inbound_nodes": [[["shared", 1, 0, {}]]]},
            ],
            "input_layers": [["input_1", 0, 0], ["input_2", 0, 0]],
            "output_layers": [["head", 0, 0]],
        },
    }
)  # fmt: skip
