"""BatchNormalization explanations, checked against Keras' own numbers."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from app.analysis.batchnorm import batchnorm_reports
from app.analysis.resolve import resolve
from app.formats import read_model
from app.formats.config import parse_model
from tests.support.kerasref import keras
from tests.support.models import randomize_weights, seed_batchnorm


def explain_spec(model):
    graph = parse_model(json.loads(model.to_json()))
    resolve(graph, weights_in_file=False)
    return batchnorm_reports(graph)


def explain_saved(model, path):
    model.save(path)
    with read_model(path) as loaded:
        resolve(loaded.graph, weights_in_file=True)
        return batchnorm_reports(loaded.graph)


def trained_like_bn(channels=6, center=True, scale=True, epsilon=1e-3):
    """A BN whose statistics are not 0 and 1, so bugs cannot hide behind initial values."""
    model = keras.Sequential(
        [
            keras.Input((channels,)),
            keras.layers.BatchNormalization(center=center, scale=scale, epsilon=epsilon),
        ]
    )
    return randomize_weights(model, seed=7)


def test_fresh_bn_seed_question_folds_to_0_9995004(tmp_path):
    (report,) = explain_saved(seed_batchnorm(), tmp_path / "fresh.keras")
    assert report.channel_values.scale == pytest.approx([0.9995004, 0.9995004], abs=1e-7)
    assert report.channel_values.shift == [0.0, 0.0]
    assert "0.9995004 · x" in report.worked_example
    codes = [f.code for f in report.findings]
    assert "never-trained" in codes
    assert report.values_from == "file"


def test_fresh_bn_folded_scale_reproduces_keras_inference_output(tmp_path):
    model = seed_batchnorm()
    (report,) = explain_saved(model, tmp_path / "fresh.keras")
    x = np.array([[0, 1], [2, 3]], dtype=np.float32)
    folded = x * np.array(report.channel_values.scale, np.float32) + np.array(
        report.channel_values.shift, np.float32
    )
    np.testing.assert_allclose(folded, [[0, 0.9995004], [1.9990008, 2.9985013]], atol=1e-7)
    np.testing.assert_allclose(folded, model.predict(x, verbose=0), atol=1e-7)


@pytest.mark.parametrize(
    ("center", "scale"), [(True, True), (False, True), (True, False), (False, False)]
)
def test_trained_bn_folded_values_reproduce_keras_predict(tmp_path, center, scale):
    model = trained_like_bn(center=center, scale=scale, epsilon=1e-5)
    (report,) = explain_saved(model, tmp_path / "bn.keras")
    x = np.random.default_rng(1).normal(size=(4, 6)).astype(np.float32)
    folded = x * np.array(report.channel_values.scale, np.float32) + np.array(
        report.channel_values.shift, np.float32
    )
    np.testing.assert_allclose(folded, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert report.set_weights_order == [w.path.rsplit("/", 1)[-1] for w in model.weights]
    assert [w.index for w in report.weights] == list(range(len(model.weights)))


def test_trained_bn_channel_values_equal_get_weights(tmp_path):
    model = trained_like_bn()
    (report,) = explain_saved(model, tmp_path / "bn.keras")
    gamma, beta, mean, variance = model.get_weights()
    np.testing.assert_array_equal(report.channel_values.gamma, gamma)
    np.testing.assert_array_equal(report.channel_values.beta, beta)
    np.testing.assert_array_equal(report.channel_values.moving_mean, mean)
    np.testing.assert_array_equal(report.channel_values.moving_variance, variance)
    assert "never-trained" not in [f.code for f in report.findings]


def test_spec_bn_says_values_are_initial():
    (report,) = explain_spec(seed_batchnorm())
    assert report.values_from == "initializers"
    assert report.findings[0].code == "initial-values"
    assert "0.9995004" in report.findings[0].message
    assert report.epsilon == 0.001
    assert report.momentum == 0.99


def test_bn_findings_flag_dead_gamma_and_tiny_variance(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization()])
    model.layers[0].set_weights(
        [
            np.array([1.0, 0.0, 2.0], np.float32),
            np.zeros(3, np.float32),
            np.array([0.5, 0.1, 0.2], np.float32),
            np.array([1.0, 2.0, 1e-5], np.float32),
        ]
    )
    (report,) = explain_saved(model, tmp_path / "odd.keras")
    by_code = {f.code: f for f in report.findings}
    assert by_code["gamma-near-zero"].channels == [1]
    assert by_code["tiny-variance"].channels == [2]


def test_bn_non_default_epsilon_and_frozen_are_reported():
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.BatchNormalization(epsilon=1e-6, trainable=False)]
    )
    (report,) = explain_spec(model)
    codes = [f.code for f in report.findings]
    assert "non-default-epsilon" in codes
    assert "frozen" in codes
    assert [w.trainable for w in report.weights] == [False] * 4
    assert report.inference_formula.startswith(
        "y[c] = gamma[c] · (x[c] − moving_mean[c]) / √(moving_variance[c] + 1e-06) + beta[c]"
    )


def test_a_spec_of_fifty_million_channels_is_explained_without_allocating_them():
    """Issue 13: this 300-byte spec made the server allocate 1.5 GB (per-channel arrays of the
    initializers' constants). The explanation needs one value per role, not 50 million."""
    spec = {
        "class_name": "Sequential",
        "config": {
            "name": "wide",
            "layers": [
                {"class_name": "InputLayer", "config": {"name": "x", "batch_shape": [None, 8]}},
                {"class_name": "Dense", "config": {"name": "d", "units": 50_000_000}},
                {"class_name": "BatchNormalization", "config": {"name": "bn"}},
            ],
        },
    }
    graph = parse_model(spec)
    resolve(graph, weights_in_file=False)
    tracemalloc.start()
    [bn] = batchnorm_reports(graph)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 32 << 20
    assert bn.channels == 50_000_000
    assert bn.channel_values.listed == 4096 and bn.channel_values.truncated
    assert set(bn.channel_values.moving_variance) == {1.0}
    assert (
        bn.channel_stats["scale"].min
        == bn.channel_stats["scale"].max
        == pytest.approx(1 / np.sqrt(1.001), rel=1e-7)
    )
    assert bn.channel_stats["scale"].std == 0.0
    assert [f.code for f in bn.findings] == ["initial-values"]


def test_finite_channels_are_judged_without_importing_numpy_ma():
    """A reading process is fresh for every file: `np.unique` imports numpy.ma on its first
    call (9 ms of CPU), so it is called only for a layer that holds NaN or ±Inf. In a fresh
    interpreter, as a reading process is."""
    code = (
        "import sys, numpy as np; from app.analysis.batchnorm import ROLES, _not_finite_findings\n"
        "finite = {role: np.arange(4, dtype=np.float32) for role in ROLES}\n"
        "assert _not_finite_findings(finite) == []\n"
        "print('numpy.ma' in sys.modules)\n"
        "bad = dict(finite, gamma=np.array([1, np.nan, 1, np.inf], dtype=np.float32))\n"
        "print([f.channels for f in _not_finite_findings(bad)])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:2] == ["False", "[[1, 3]]"]
