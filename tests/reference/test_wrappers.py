"""Bidirectional and TimeDistributed against Keras: merge modes, backward_layer, masks,
states, and wrapped non-recurrent layers."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import UnsupportedModel
from app.reference import run_layer
from tests.reference.harness import assert_layer_matches_keras, random_inputs
from tests.reference.recurrent_harness import assert_sequence_layer_matches_keras, entry

X = random_inputs([(3, 5, 4)])[0]
MASK = np.array([[1, 0, 1, 1, 0], [0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], dtype=bool)

BIDIRECTIONAL = [
    {"layer": entry("LSTM", units=3)},
    {"layer": entry("LSTM", units=3, return_sequences=True)},
    {"layer": entry("GRU", units=3, return_sequences=True), "merge_mode": "sum"},
    {"layer": entry("GRU", units=2, reset_after=False), "merge_mode": "mul"},
    {"layer": entry("SimpleRNN", units=3, return_sequences=True), "merge_mode": "ave"},
    {"layer": entry("LSTM", units=2, return_sequences=True), "merge_mode": None},
    {"layer": entry("GRU", units=2, return_state=True), "merge_mode": None},
    {"layer": entry("LSTM", units=3, return_sequences=True, return_state=True)},
    {"layer": entry("LSTM", units=2, return_sequences=True, unroll=True)},
    {
        "layer": entry("GRU", units=3, return_sequences=True),
        "backward_layer": entry("SimpleRNN", units=2, return_sequences=True, go_backwards=True),
    },
    {"layer": entry("RNN", cell=entry("LSTMCell", units=2), return_sequences=True)},
]


@pytest.mark.parametrize("config", BIDIRECTIONAL, ids=[str(i) for i in range(len(BIDIRECTIONAL))])
def test_bidirectional_matches_keras(config):
    assert_sequence_layer_matches_keras("Bidirectional", config, X)


@pytest.mark.parametrize("config", BIDIRECTIONAL, ids=[str(i) for i in range(len(BIDIRECTIONAL))])
def test_bidirectional_with_mask_matches_keras(config):
    assert_sequence_layer_matches_keras("Bidirectional", config, X, mask=MASK)


def test_bidirectional_initial_states_split_between_directions():
    rng = np.random.default_rng(3)
    states = [rng.normal(size=(3, 2)).astype(np.float32) for _ in range(4)]  # h, c twice
    config = {"layer": entry("LSTM", units=2, return_sequences=True, return_state=True)}
    assert_sequence_layer_matches_keras("Bidirectional", config, X, states=states)


def test_bidirectional_unknown_merge_mode_is_refused():
    config = {"layer": entry("SimpleRNN", units=1), "merge_mode": "max"}
    weights = {"kernel": np.ones((4, 1), np.float32), "recurrent_kernel": np.ones((1, 1))}
    with pytest.raises(UnsupportedModel):
        run_layer("Bidirectional", config, weights, [X])


TIME_DISTRIBUTED = [
    ({"layer": entry("Dense", units=3, activation="relu")}, (2, 4, 5)),
    ({"layer": entry("Conv2D", filters=2, kernel_size=3, padding="same")}, (2, 3, 6, 6, 2)),
    ({"layer": entry("MaxPooling2D", pool_size=2)}, (2, 3, 4, 4, 2)),
    ({"layer": entry("Flatten")}, (2, 3, 2, 2, 2)),
    ({"layer": entry("BatchNormalization")}, (4, 3, 5)),
]


@pytest.mark.parametrize(
    ("config", "shape"),
    TIME_DISTRIBUTED,
    ids=[c["layer"]["class_name"] for c, _ in TIME_DISTRIBUTED],
)
def test_time_distributed_matches_keras(config, shape):
    assert_sequence_layer_matches_keras("TimeDistributed", config, random_inputs([shape])[0])


def test_time_distributed_batch_normalization_in_training_uses_each_timestep_batch():
    """Keras calls the wrapped layer once per timestep: batch statistics per timestep."""
    x = random_inputs([(4, 3, 5)])[0] * np.array([1, 10, 100], np.float32)[None, :, None]
    config = {"layer": entry("BatchNormalization")}
    ours = assert_sequence_layer_matches_keras("TimeDistributed", config, x, training=True)[0]
    # Each timestep normalized on its own batch: the same mean (beta) at every t, although
    # the timesteps' scales differ by 100×.
    means = ours.mean(axis=0)
    np.testing.assert_allclose(means, np.broadcast_to(means[:1], means.shape), atol=1e-5)


def test_time_distributed_of_bidirectional_matches_keras():
    x = random_inputs([(2, 3, 4, 5)])[0]
    inner = entry("Bidirectional", layer=entry("GRU", units=2))
    assert_sequence_layer_matches_keras("TimeDistributed", {"layer": inner}, x)


SPECTRAL = [
    ({"layer": entry("Dense", units=4)}, (3, 5)),
    ({"layer": entry("Dense", units=3, activation="relu"), "power_iterations": 2}, (2, 4, 5)),
    ({"layer": entry("Conv2D", filters=3, kernel_size=2)}, (2, 5, 6, 2)),
    ({"layer": entry("Embedding", input_dim=7, output_dim=3)}, None),
]


@pytest.mark.parametrize(("config", "shape"), SPECTRAL, ids=[str(i) for i in range(len(SPECTRAL))])
def test_spectral_normalization_at_inference_matches_keras(config, shape):
    """Keras runs the wrapped layer with its kernel as stored (randomized here, vector_u too)."""
    if shape is None:
        x = [np.random.default_rng(2).integers(0, 7, size=(2, 5)).astype(np.int32)]
    else:
        x = random_inputs([shape])
    assert_layer_matches_keras("SpectralNormalization", config, x)


def test_spectral_normalization_in_training_is_refused():
    config = {"layer": entry("Dense", units=2)}
    weights = {"kernel": np.ones((3, 2), np.float32), "bias": np.zeros(2, np.float32)}
    with pytest.raises(UnsupportedModel) as caught:
        run_layer("SpectralNormalization", config, weights, random_inputs([(1, 3)]), training=True)
    assert caught.value.details == {"class_name": "SpectralNormalization", "mode": "training"}
