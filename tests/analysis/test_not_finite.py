"""Weights holding NaN or ±Inf (a diverged training step; Keras loads such files): explained,
with the statistics over the finite values and a warning naming the tensors and counts."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.stats import weight_stats
from tests.support.api import make_client, post_file
from tests.support.kerasref import keras


def test_stats_are_over_the_finite_values_and_count_the_others():
    stats = weight_stats(np.array([1.0, np.nan, np.inf, -np.inf, 3.0], dtype=np.float32))
    # finite: 1 and 3 → mean 2, population std 1
    assert (stats.min, stats.max, stats.mean, stats.std) == (1.0, 3.0, 2.0, 1.0)
    assert (stats.nan, stats.inf) == (1, 2)


def test_a_weight_of_nothing_but_nan_has_no_statistics_but_its_count():
    stats = weight_stats(np.full((2, 3), np.nan, dtype=np.float32))
    assert (stats.min, stats.max, stats.mean, stats.std, stats.nan, stats.inf) == (
        None,
        None,
        None,
        None,
        6,
        0,
    )


@pytest.fixture(scope="module")
def diverged(tmp_path_factory):
    """Dense(4) → BatchNormalization with a NaN and an Inf in the kernel, a NaN in a mean."""
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(4, name="dense"),
            keras.layers.BatchNormalization(name="batch_normalization"),
        ]
    )
    weights = model.get_weights()
    weights[0][0, 0], weights[0][1, 1], weights[4][2] = np.nan, np.inf, np.nan
    model.set_weights(weights)
    path = tmp_path_factory.mktemp("diverged") / "diverged.keras"
    model.save(path)
    return path


def test_a_model_with_nan_and_inf_weights_is_explained_with_a_warning(tmp_path, diverged):
    with make_client(tmp_path) as client:
        response = post_file(client, diverged, params={"check": "false"})
        assert response.status_code == 201, response.text
        report = response.json()
        assert report["totals"]["params"] == 32  # 3·4 + 4 + 4·4, as Keras counts
        [warning] = [w for w in report["warnings"] if "not finite" in w]
        assert "dense/kernel: 1 NaN, 1 ±Inf" in warning
        assert "batch_normalization/moving_mean: 1 NaN" in warning
        kernel = report["layers"][0]["weights"][0]["stats"]
        assert (kernel["nan"], kernel["inf"]) == (1, 1)
        [bn] = report["batchnorm"]
        assert bn["channel_values"]["moving_mean"][2] is None
        assert bn["channel_values"]["moving_mean"][:2] == [0.0, 0.0]
        [finding] = [f for f in bn["findings"] if f["code"] == "not-finite"]
        assert finding["channels"] == [2]
        pages = (f"/reports/{report['id']}", f"/reports/{report['id']}/batchnorm/{bn['layer']}")
        for page in pages:
            assert client.get(page, headers={"accept": "text/html"}).status_code == 200
        not_finite = [
            (f["layer"], f["weight"], f["message"][:16])
            for f in report["findings"]
            if f["code"] == "not-finite"
        ]
        assert not_finite == [
            ("dense", "kernel", "1 NaN and 1 ±Inf"),
            ("batch_normalization", "moving_mean", "1 NaN among its "),
        ]
        html = client.get(f"/reports/{report['id']}").text
        assert "· NaN 1 · ±Inf 1" in html  # the kernel's tooltip
