"""CategoryEncoding and Hashing (numeric inputs) against Keras; Hashing's FarmHash against
TensorFlow's to_hash_bucket_fast on decimal texts of every length an int64 has (1-20 bytes)."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import UnsupportedModel
from app.reference import run_layer
from tests.reference.harness import assert_layer_matches_keras

# decimal texts of 1 to 20 bytes: both FarmHash paths (0-16, 17-32 bytes) and their branches
VALUES = np.array(
    [[0, 7, -3, 42, 999, -1234, 56789, 123456, -7654321, 12345678, 987654321, 2**40 + 3]]
    + [[-(2**62), 2**63 - 1, -(2**63), 10**15, 10**16, -(10**17), 3, 4, 5, 6, 7, 8]],
    dtype=np.int64,
)


def ids(shape, high=6, seed=0):
    return [np.random.default_rng(seed).integers(0, high, size=shape).astype(np.int32)]


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count", "binary"])
@pytest.mark.parametrize("shape", [(3, 4), (5, 1), (7,)])
def test_category_encoding_matches_keras(mode, shape):
    config = {"num_tokens": 6, "output_mode": mode}
    assert_layer_matches_keras("CategoryEncoding", config, ids(shape), randomize=False)


def test_category_encoding_count_by_hand():
    x = np.array([[0, 1, 1, 3], [2, 2, 2, 2]])
    out = run_layer("CategoryEncoding", {"num_tokens": 4, "output_mode": "count"}, {}, [x])
    np.testing.assert_array_equal(out, [[1, 2, 0, 1], [0, 0, 4, 0]])
    assert out.dtype == np.float32


@pytest.mark.parametrize(
    "config",
    [
        {"num_bins": 7},
        {"num_bins": 2**31 - 1},
        {"num_bins": 5, "mask_value": 42},
        {"num_bins": 3, "output_mode": "multi_hot"},
        {"num_bins": 4, "output_mode": "count"},
        {"num_bins": 4, "output_mode": "int", "dtype": "int32"},
    ],
)
def test_hashing_of_integers_matches_keras(config):
    assert_layer_matches_keras("Hashing", config, [VALUES], randomize=False)


def test_hashing_one_hot_of_a_column_matches_keras():
    config = {"num_bins": 5, "output_mode": "one_hot"}
    assert_layer_matches_keras("Hashing", config, [VALUES[0].reshape(-1, 1)], randomize=False)


def test_hashing_of_floats_truncates_them_as_keras():
    x = np.array([[0.5, -2.7, 3.0, 1e6 + 0.25]], dtype=np.float32)
    assert_layer_matches_keras("Hashing", {"num_bins": 11}, [x], randomize=False)


def test_hashing_with_salt_is_refused():
    with pytest.raises(UnsupportedModel) as caught:
        run_layer("Hashing", {"num_bins": 3, "salt": [1, 2]}, {}, [VALUES])
    assert caught.value.details == {"class_name": "Hashing", "salt": True}


def test_hashing_of_strings_is_refused():
    with pytest.raises(UnsupportedModel) as caught:
        run_layer("Hashing", {"num_bins": 3}, {}, [np.array([["a", "b"]])])
    assert caught.value.code == "unsupported-model"
