"""materialize_weights for a spec: Keras' exact values for constant initializers, seeded draws
of the right family and scale for random ones."""

from __future__ import annotations

import math

import numpy as np

from app.analysis.initializers import Seeded, initial_value
from app.analysis.reference import materialize_weights
from app.analysis.resolve import resolve
from app.formats import read_spec
from tests.support.kerasref import keras

L = keras.layers


def constants_model():
    """Every constant initializer a spec can hold, wrapped layers included. (RNN over cells
    is left out: resolve refuses a spec whose cells the registry does not list.)"""
    seq, flat = keras.Input((5, 4)), keras.Input((4,))
    dense = L.Dense(
        3, kernel_initializer="ones", bias_initializer=keras.initializers.Constant(0.25)
    )
    outputs = [
        L.LSTM(3)(seq),  # unit_forget_bias: [0, 1, 0, 0] per gate block
        L.GRU(2, bias_initializer="ones")(seq),
        L.LayerNormalization()(L.PReLU()(L.BatchNormalization()(dense(flat)))),
        L.Bidirectional(L.LSTM(2, bias_initializer=keras.initializers.Constant(0.5)))(seq),
        L.TimeDistributed(L.Dense(2, bias_initializer=keras.initializers.Constant(-0.5)))(seq),
    ]
    return keras.Model([seq, flat], outputs)


CONSTANT_ROLES = ("bias", "gamma", "beta", "moving_mean", "moving_variance", "alpha")


def spec_weights(model, seed: int = 0) -> list[np.ndarray]:
    with read_spec(model.to_json()) as loaded:
        resolve(loaded.graph, weights_in_file=False)
        return materialize_weights(loaded.graph, seed)


def test_materialize_weights_gives_keras_constants_exactly():
    keras.backend.clear_session()
    model = constants_model()
    ours = spec_weights(model)
    assert [w.shape for w in ours] == [tuple(v.shape) for v in model.weights]
    checked = 0
    for mine, variable in zip(ours, model.weights, strict=True):
        assert mine.dtype == np.float32
        if variable.path.endswith(CONSTANT_ROLES) or variable.path == "dense/kernel":
            np.testing.assert_array_equal(mine, variable.numpy(), err_msg=variable.path)
            checked += 1
    assert (
        checked == 14
    )  # LSTM, GRU, 2 Bidirectional, TimeDistributed biases; Dense 2; BN 4; PReLU 1; LN 2


def test_lstm_bias_with_unit_forget_bias_by_hand():
    keras.backend.clear_session()
    inputs = keras.Input((5, 4))
    bias = spec_weights(keras.Model(inputs, L.LSTM(2)(inputs)))[2]
    np.testing.assert_array_equal(bias, [0, 0, 1, 1, 0, 0, 0, 0])


def random_model():
    inputs = keras.Input((6, 6, 8))
    x = L.Conv2D(16, 3, kernel_initializer="he_normal")(inputs)
    x = L.Dense(32)(L.Flatten()(x))  # glorot_uniform
    x = L.Reshape((4, 8))(x)
    return keras.Model(inputs, L.GRU(5)(x))  # orthogonal recurrent_kernel


def test_materialize_weights_draws_each_family_at_its_scale():
    keras.backend.clear_session()
    conv, _, dense, _, _, recurrent, _ = spec_weights(random_model())
    he_std = math.sqrt(2.0 / (3 * 3 * 8)) / 0.87962566103423978
    assert np.abs(conv).max() <= 2 * he_std + 1e-7  # truncated at 2σ
    assert 0.8 * he_std < conv.std() < 1.2 * he_std * 0.88 / 0.8
    limit = math.sqrt(6.0 / (16 * 16 + 32))
    assert np.abs(dense).max() <= limit
    assert 0.9 * limit / math.sqrt(3) < dense.std() < 1.1 * limit / math.sqrt(3)
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(5), atol=1e-5)  # (5, 15)


def test_materialize_weights_is_seeded():
    """Every weight: the same seed draws it again; another seed draws each random one anew
    and leaves the constants (the biases' zeros) as they are."""
    keras.backend.clear_session()
    model = random_model()
    first, again, other = spec_weights(model, 1), spec_weights(model, 1), spec_weights(model, 2)
    paths = [v.path for v in model.weights]
    assert len(first) == len(again) == len(other) == len(paths) == 7
    random = [p.endswith(("kernel", "recurrent_kernel")) for p in paths]
    assert sum(random) == 4  # Conv2D, Dense and GRU kernels, the GRU's recurrent kernel
    for path, is_random, a, b, c in zip(paths, random, first, again, other, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=path)
        if is_random:
            assert not np.array_equal(a, c), path
        else:
            np.testing.assert_array_equal(a, c, err_msg=path)


def test_a_seed_draws_what_numpys_generator_of_that_seed_draws():
    """`initial_value(node, w, seed)` makes its generator at the first random draw
    (`Seeded`): the values are those of `np.random.default_rng(seed)` passed in, for a
    truncated normal (redraws), a uniform, an orthogonal draw (QR) and a constant."""
    keras.backend.clear_session()
    with read_spec(random_model().to_json()) as loaded:
        resolve(loaded.graph, weights_in_file=False)
        weights = [(node, w) for node in loaded.graph.layers for w in node.weights]
        assert len(weights) == 7
        for node, w in weights:
            by_seed = initial_value(node, w, 5)
            by_generator = initial_value(node, w, np.random.default_rng(5))
            np.testing.assert_array_equal(by_seed, by_generator, err_msg=w.name)


def test_a_seeded_generator_is_made_at_its_first_draw_only():
    seeded = Seeded(7)
    assert seeded._made is None
    draws = [seeded.normal(size=3), seeded.uniform(-1, 1, 4)]
    numpys = np.random.default_rng(7)
    np.testing.assert_array_equal(draws[0], numpys.normal(size=3))
    np.testing.assert_array_equal(draws[1], numpys.uniform(-1, 1, 4))
