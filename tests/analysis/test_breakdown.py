"""Breakdown totals, formulas and indices against the DESIGN.md reference numbers and Keras."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.analysis.breakdown import formula, layer_reports, totals
from app.analysis.resolve import resolve
from app.analysis.stats import weight_stats
from app.explain import explain_file
from app.formats.config import parse_model
from app.graph import WeightRef
from tests.support.kerasref import keras
from tests.support.models import seed_model


def resolved_spec(model):
    graph = parse_model(json.loads(model.to_json()))
    resolve(graph, weights_in_file=False)
    return graph


def test_totals_seed_model_match_design_reference():
    result = totals(resolved_spec(seed_model()))
    assert (result.params, result.trainable, result.non_trainable) == (2_140_752, 2_139_728, 1_024)
    assert result.bytes == 2_140_752 * 4
    assert result.weights == 8


def test_totals_seed_model_match_keras():
    model = seed_model()
    result = totals(resolved_spec(model))
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert result.params == model.count_params()
    assert result.trainable == trainable


def test_batchnorm_layer_seed_model_has_2048_params_at_indices_2_to_5():
    layers = {r.class_name: r for r in layer_reports(resolved_spec(seed_model()))}
    bn = layers["BatchNormalization"]
    assert bn.params == 2_048
    assert bn.non_trainable_params == 1_024
    assert [w.index for w in bn.weights] == [2, 3, 4, 5]
    assert [w.role for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.trainable for w in bn.weights] == [True, True, False, False]
    assert bn.formula == "4 × 512 = 2,048"


def test_batchnorm_without_center_shifts_indices_and_has_no_beta():
    reports = layer_reports(resolved_spec(seed_model(center=False)))
    bn = next(r for r in reports if r.class_name == "BatchNormalization")
    assert [(w.role, w.index) for w in bn.weights] == [
        ("gamma", 2),
        ("moving_mean", 3),
        ("moving_variance", 4),
    ]
    last_dense = reports[-1]
    assert [w.index for w in last_dense.weights] == [5, 6]


def test_indices_follow_keras_get_weights_order():
    model = seed_model()
    graph = resolved_spec(model)
    ours = [(tuple(w.shape), w.trainable) for r in layer_reports(graph) for w in r.weights]
    ours_by_index = sorted(
        (w.index, tuple(w.shape), w.trainable) for r in layer_reports(graph) for w in r.weights
    )
    expected = [(tuple(w.shape), w.trainable) for w in model.weights]
    assert ours == expected
    assert [(s, t) for _, s, t in ours_by_index] == expected


def test_formula_dense_reads_like_a_person_writes_it():
    reports = layer_reports(resolved_spec(seed_model()))
    assert reports[0].formula == "4096 × 512 + 512 = 2,097,664"
    assert reports[-1].formula == "512 × 80 + 80 = 41,040"
    assert next(r for r in reports if r.class_name == "Dropout").formula == "0 (no weights)"


def test_formula_single_vector_is_just_its_count():
    weight = WeightRef("alpha", "alpha", (7,), "float32", True)
    assert formula([weight]) == "7"


def test_branching_functional_indices_follow_keras_map_graph_order():
    inp = keras.Input((8,), name="inp")
    a = keras.layers.Dense(4, name="a")(inp)
    b = keras.layers.Dense(3, name="b")(inp)
    c = keras.layers.Dense(3, name="c")(a)
    d = keras.layers.Add(name="d")([c, b])
    e = keras.layers.BatchNormalization(name="e")(d)
    model = keras.Model(inp, [e, b])
    graph = resolved_spec(model)
    ours = [(r.name, w.name) for r in layer_reports(graph) for w in r.weights]
    assert ours == [tuple(w.path.split("/", 1)) for w in model.weights]


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2000, 700), ()])
def test_weight_stats_equal_numpy_over_chunks(shape):
    values = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    stats = weight_stats(values)
    assert stats.min == pytest.approx(float(values.min()))
    assert stats.max == pytest.approx(float(values.max()))
    assert stats.mean == pytest.approx(float(values.astype(np.float64).mean()), abs=1e-9)
    assert stats.std == pytest.approx(float(values.astype(np.float64).std()), rel=1e-6)


def test_weight_stats_count_exact_zeros_over_all_values_across_chunks():
    values = np.array([[0.0, -0.0, 1.0, np.nan], [2.0, 0.0, np.inf, 3.0]], dtype=np.float32)
    stats = weight_stats(values)
    # 0.0, -0.0 and 0.0 are exact zeros; NaN and Inf are not; 3 of the 8 values
    assert (stats.zeros, stats.zero_fraction) == (3, 3 / 8)
    sparse = np.zeros((3000, 700), dtype=np.float32)  # read in more than one slice
    sparse[::2, :] = 1.0  # rows 0, 2, ... 2998 are ones: 1,500 rows of zeros remain
    stats = weight_stats(sparse)
    assert (stats.zeros, stats.zero_fraction) == (1500 * 700, 0.5)


def test_keras2_file_with_hard_sigmoid_warns_that_keras3_computes_it_otherwise(corpus):
    report = explain_file(corpus / "keras2c_lstm_example.h5").report
    [warning] = [w for w in report.warnings if "hard_sigmoid" in w]
    assert "clip(0.2 · x + 0.5, 0, 1) in Keras 2" in warning
    assert "Keras 2.2.4" in warning and "(recurrent_activation)" in warning


def test_keras3_file_with_hard_sigmoid_has_no_such_warning(tmp_path):
    model = keras.Sequential(
        [keras.Input((3, 2)), keras.layers.LSTM(2, recurrent_activation="hard_sigmoid")]
    )
    model.save(tmp_path / "m.keras")
    report = explain_file(tmp_path / "m.keras").report
    assert not [w for w in report.warnings if "hard_sigmoid" in w]
