"""Each Dense and Dropout mistake on a model where only it is made, the mistaken numbers
written by hand in NumPy; and a mistake found from the model's output alone."""

from __future__ import annotations

import numpy as np
import pytest

from tests.diagnosis.support import case, codes
from tests.support.kerasref import keras
from tests.support.models import randomize_weights

X = np.random.default_rng(5).normal(size=(4, 3)).astype("float32")


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


@pytest.fixture(scope="module")
def dense(tmp_path_factory):
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(3, activation="softmax", name="dense")]
    )
    randomize_weights(model, seed=21)
    return case(model, X, tmp_path_factory.mktemp("dense"))


@pytest.fixture(scope="module")
def dropout(tmp_path_factory):
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(6, name="dense"),
            keras.layers.Dropout(0.25, name="drop"),
        ]
    )
    randomize_weights(model, seed=22)
    return case(model, X, tmp_path_factory.mktemp("dropout"))


@pytest.fixture(scope="module")
def two_bn(tmp_path_factory):
    """Dense → BN → Dense → BN: a batch-statistics forward is wrong at both BN layers."""
    layers = keras.layers
    model = keras.Sequential(
        [keras.Input((3,)), layers.Dense(4, name="d1"), layers.BatchNormalization(name="bn1"),
         layers.Dense(2, name="d2"), layers.BatchNormalization(name="bn2")]
    )  # fmt: skip
    randomize_weights(model, seed=23)
    return case(model, X, tmp_path_factory.mktemp("two_bn"))


def kernel_bias(model_case):
    kernel, bias = (np.asarray(w, np.float64) for w in model_case.weights[:2])
    return kernel, bias


def named_first(model_case, layer, theirs, code):
    diagnosis = model_case.diagnose({layer: np.asarray(theirs, np.float32)})
    assert diagnosis.verdict == "explained", diagnosis.difference
    assert codes(diagnosis)[0] == code
    return diagnosis


def test_kernel_transposed_is_named(dense):
    k, b = kernel_bias(dense)
    named_first(dense, "dense", softmax(X @ k.T + b), "dense-kernel-transposed")


def test_bias_left_out_is_named(dense):
    k, _ = kernel_bias(dense)
    named_first(dense, "dense", softmax(X @ k), "dense-bias-left-out")


def test_activation_left_out_is_named(dense):
    k, b = kernel_bias(dense)
    named_first(dense, "dense", X @ k + b, "dense-activation-left-out")


def test_activation_applied_twice_is_named(dense):
    k, b = kernel_bias(dense)
    named_first(dense, "dense", softmax(softmax(X @ k + b)), "dense-activation-twice")


def test_sigmoid_for_softmax_is_named(dense):
    k, b = kernel_bias(dense)
    diagnosis = named_first(dense, "dense", sigmoid(X @ k + b), "dense-other-activation")
    assert diagnosis.mistakes[0].form == "sigmoid"


def test_dropout_scaled_at_inference_is_named(dropout):
    k, b = kernel_bias(dropout)
    named_first(dropout, "drop", (X @ k + b) / 0.75, "dropout-at-inference-scaled")


def test_dropout_masked_at_inference_is_named(dropout):
    k, b = kernel_bias(dropout)
    keep = np.random.default_rng(0).random((4, 6)) >= 0.25
    theirs = np.where(keep, (X @ k + b) / 0.75, 0.0)
    named_first(dropout, "drop", theirs, "dropout-at-inference-masked")


def test_batch_statistics_found_from_the_output_alone(two_bn):
    """Only the model's output is given: the mistake is made on every BatchNormalization,
    as one implementation would, and found by running the model with it."""
    k1, b1, g1, be1, _, _, k2, b2, g2, be2, _, _ = (
        np.asarray(w, np.float64) for w in two_bn.weights
    )

    def batch_norm(h, g, be):
        return (h - h.mean(axis=0)) / np.sqrt(h.var(axis=0) + 1e-3) * g + be

    h = batch_norm(X @ k1 + b1, g1, be1)
    theirs = batch_norm(h @ k2 + b2, g2, be2)
    diagnosis = named_first(two_bn, "bn2", theirs, "batchnorm-batch-statistics")
    assert diagnosis.mistakes[0].layers == ["bn1", "bn2"]
    assert diagnosis.mistakes[0].layer == "bn1"


def test_unexplained_difference_is_described_as_a_constant_factor(dense):
    diagnosis = dense.diagnose({"dense": dense.keras["dense"] * 3})
    assert diagnosis.verdict == "unexplained"
    assert diagnosis.difference.shape == "constant-factor"
    assert diagnosis.difference.value == pytest.approx(3, rel=1e-5)


def test_unexplained_difference_is_described_as_permuted_channels(dense):
    diagnosis = dense.diagnose({"dense": dense.keras["dense"][:, [2, 0, 1]]})
    assert diagnosis.difference.shape == "permuted-channels"
    assert diagnosis.difference.value == [2, 0, 1]
