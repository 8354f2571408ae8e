"""The comparison's arithmetic, on arrays made by hand."""

from __future__ import annotations

import json

import numpy as np

from app.analysis.resolve import resolve
from app.check.compare import CHUNK, Side, compare, compared_model, errors
from app.formats.config import parse_model
from tests.support.models import small_model

TOLERANCE = 1e-4


def graph():
    model = small_model()
    g = parse_model(json.loads(model.to_json()))
    resolve(g, weights_in_file=False)
    return compared_model(g), [layer.name for layer in model.layers]


def test_errors_are_relative_to_the_largest_keras_magnitude():
    keras = np.array([[-40.0, 2.0], [0.5, 1.0]], dtype=np.float32)
    ours = keras + np.array([[0.0, 0.004], [0.0, 0.0]], dtype=np.float32)
    abs_error, rel_error = errors(ours, keras)
    assert abs_error == np.float64(np.float32(2.004)) - 2.0
    assert rel_error == abs_error / 40.0


def test_errors_of_all_zero_outputs_do_not_divide_by_zero():
    assert errors(np.zeros(3), np.zeros(3)) == (0.0, 0.0)
    assert errors(np.full(3, 1e-7), np.zeros(3)) == (1e-7, 1e-7 / 1e-6)


def test_errors_count_nan_on_both_sides_as_agreement_and_on_one_as_infinite():
    both = np.array([np.nan, 1.0])
    assert errors(both, both) == (0.0, 0.0)
    assert errors(np.array([np.nan, 1.0]), np.array([0.0, 1.0]))[0] == np.inf


def test_errors_across_chunks_take_the_worst_difference_and_the_largest_magnitude():
    """The arrays are read a chunk at a time: the worst difference sits in one chunk, the
    largest Keras value in another, a NaN pair in a third."""
    size = 3 * CHUNK + 8
    keras = np.ones(size, dtype=np.float32)
    keras[CHUNK + 7] = -250.0
    keras[2 * CHUNK + 1] = np.nan
    ours = keras.copy()
    ours[3 * CHUNK + 2] = 1.5
    abs_error, rel_error = errors(ours.reshape(-1, 8), keras.reshape(-1, 8))
    assert (abs_error, rel_error) == (0.5, 0.5 / 250.0)
    ours[5] = np.nan  # NaN on our side only, in the first chunk
    assert errors(ours, keras)[0] == np.inf


def test_errors_of_integer_and_boolean_outputs():
    assert errors(np.array([3, 7], dtype=np.int32), np.array([3, 4], dtype=np.int32)) == (
        3.0,
        3.0 / 4.0,
    )
    assert errors(np.array([True, False]), np.array([True, True])) == (1.0, 1.0)


def test_compare_names_the_first_layer_over_tolerance():
    g, names = graph()
    keras = {name: [np.ones((2, 3))] for name in names}
    ours = {name: [np.ones((2, 3))] for name in names}
    ours[names[1]] = [np.ones((2, 3)) * (1 + 2 * TOLERANCE)]
    ours[names[2]] = [np.ones((2, 3)) * (1 + 3 * TOLERANCE)]
    result = compare(
        g, Side(ours, [ours[names[2]][0]]), Side(keras, [keras[names[2]][0]]), TOLERANCE
    )
    assert [layer.verdict for layer in result.layers] == ["passed", "failed", "failed"]
    assert result.first_divergence == names[1]
    assert not result.passed


def test_compare_passes_within_tolerance_and_lists_small_outputs():
    g, names = graph()
    out = np.arange(6, dtype=np.float32).reshape(2, 3)
    side = Side({name: [out] for name in names}, [out])
    result = compare(g, side, side, TOLERANCE)
    assert result.passed and result.first_divergence is None
    assert result.outputs[0].keras == out.tolist() == result.outputs[0].reference


def test_compare_reports_a_shape_mismatch_as_failed_with_both_shapes():
    g, names = graph()
    keras = {name: [np.ones((2, 3))] for name in names}
    ours = dict(keras, **{names[0]: [np.ones((2, 4))]})
    result = compare(g, Side(ours, [np.ones((2, 3))]), Side(keras, [np.ones((2, 3))]), TOLERANCE)
    assert result.layers[0].verdict == "failed"
    assert "[[2, 4]]" in result.layers[0].note and "[[2, 3]]" in result.layers[0].note
