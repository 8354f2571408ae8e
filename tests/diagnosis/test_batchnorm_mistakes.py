"""Each BatchNormalization mistake on a model where only it is made: the mistaken numbers
written here by hand in NumPy (never with the catalogue's own function), and the diagnosis
must name that mistake first. Weights randomised (no gamma 1 or mean 0 to hide a swap)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.diagnosis.support import case, codes
from tests.support.kerasref import keras
from tests.support.models import randomize_weights

EPS = 1e-3
X = np.random.default_rng(3).normal(size=(5, 4)).astype("float32") * 2 + 1


@pytest.fixture(scope="module")
def bn(tmp_path_factory):
    model = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization(name="bn")])
    randomize_weights(model, seed=11)
    return case(model, X, tmp_path_factory.mktemp("bn"))


@pytest.fixture(scope="module")
def bn_without_center(tmp_path_factory):
    layer = keras.layers.BatchNormalization(center=False, name="bn")
    model = keras.Sequential([keras.Input((4,)), layer])
    randomize_weights(model, seed=12)
    return case(model, X, tmp_path_factory.mktemp("bnc"))


def arrays(model_case):
    layer = model_case.weights
    return [np.asarray(w, np.float64) for w in layer]


def top(model_case, theirs):
    diagnosis = model_case.diagnose({"bn": theirs.astype(np.float32)})
    assert diagnosis.verdict == "explained", diagnosis.difference
    return diagnosis


def test_batch_statistics_is_named(bn):
    g, b, m, v = arrays(bn)
    x = X.astype(np.float64)
    theirs = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + EPS) * g + b
    assert codes(top(bn, theirs))[0] == "batchnorm-batch-statistics"


def test_variance_as_std_is_named(bn):
    g, b, m, v = arrays(bn)
    theirs = (X - m) / (v + EPS) * g + b
    assert codes(top(bn, theirs))[0] == "batchnorm-variance-as-std"


def test_epsilon_left_out_is_named(bn):
    g, b, m, v = arrays(bn)
    theirs = (X - m) / np.sqrt(v) * g + b
    assert codes(top(bn, theirs))[0] == "batchnorm-epsilon-left-out"


def test_pytorch_epsilon_is_named(bn):
    g, b, m, v = arrays(bn)
    theirs = (X - m) / np.sqrt(v + 1e-5) * g + b
    assert codes(top(bn, theirs))[0] == "batchnorm-pytorch-epsilon"


@pytest.mark.parametrize(
    "order",
    # moving_variance stays under the square root (others would take a root of a negative)
    [("b", "g", "m", "v"), ("m", "b", "g", "v"), ("g", "m", "b", "v"), ("b", "m", "g", "v")],
)
def test_arrays_in_another_order_are_named(bn, order):
    named = dict(zip("gbmv", arrays(bn), strict=True))
    g, b, m, v = (named[k] for k in order)
    theirs = (X - m) / np.sqrt(v + EPS) * g + b
    diagnosis = top(bn, theirs)
    assert codes(diagnosis)[0] == "batchnorm-weights-order"


def test_center_off_read_as_four_arrays_is_named(bn_without_center):
    # get_weights() gives [gamma, moving_mean, moving_variance]; read by position as
    # gamma, beta, moving_mean, moving_variance, the last one missing (taken as 1).
    g, m, v = arrays(bn_without_center)
    theirs = (X - v) / np.sqrt(1 + EPS) * g + m
    diagnosis = bn_without_center.diagnose({"bn": theirs.astype(np.float32)})
    assert codes(diagnosis)[0] == "batchnorm-center-scale-as-on"


def test_keras_own_numbers_match(bn):
    diagnosis = bn.diagnose({"bn": bn.keras["bn"]})
    assert diagnosis.verdict == "matches-keras"
    assert diagnosis.mistakes == []
    assert diagnosis.tensors[0].against == "keras"
