"""The forwards of Keras math and nn operations (`ops.Sigmoid`, `ops.Matmul`, `ops.Var`, ...)
against Keras' `predict` on a model that applies each, saved by Keras to a `.keras` file and
read back by our reader: every case of tests/layers/test_math_operations.py, non-default
arguments included."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.reference import materialize_weights, run_reference
from app.analysis.resolve import resolve
from app.formats import read_model
from tests.layers.test_math_operations import CASES, case_model

BATCH = 2


def case_inputs(name: str) -> list[np.ndarray]:
    rng = np.random.default_rng(sorted(CASES).index(name))
    return [rng.normal(size=(BATCH, *shape)).astype("float32") for shape in CASES[name][2]]


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_is_keras_predict(tmp_path, name):
    model = case_model(name)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    with read_model(path) as loaded:
        graph = loaded.graph
        resolve(graph, weights_in_file=True)
        weights = materialize_weights(graph)
    inputs = case_inputs(name)
    [ours] = run_reference(graph, weights, inputs).outputs
    theirs = np.asarray(model.predict(inputs, verbose=0))
    assert ours.dtype == theirs.dtype
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=2e-6)


def test_gelu_approximate_by_default_differs_from_exact():
    """`ops.gelu` defaults to the tanh form; the exact form gives other values, so the
    cases above tell the two apart."""
    x = case_inputs("gelu")
    exact = case_model("gelu_exact").predict(x, verbose=0)
    approximate = case_model("gelu").predict(x, verbose=0)
    assert np.abs(exact - approximate).max() > 1e-5
