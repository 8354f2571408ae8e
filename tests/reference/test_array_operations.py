"""Keras operations that move array elements, run by the reference against Keras' `predict`
on the model that applies them (tests/support/array_operations.py: one per case)."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.reference import run_reference
from app.analysis.resolve import resolve
from app.formats import read_spec
from tests.support.array_operations import CASES
from tests.support.kerasref import keras

BATCH, UNKNOWN = 2, 5  # the sizes given to a case's unknown batch and other unknown axes


def case_inputs(shape: tuple) -> np.ndarray:
    sizes = [BATCH if i == 0 else UNKNOWN if d is None else d for i, d in enumerate(shape)]
    return np.random.default_rng(len(shape)).normal(size=sizes).astype("float32")


@pytest.mark.parametrize("case", sorted(CASES))
def test_operation_runs_like_keras(case):
    shape, function = CASES[case]
    x = keras.Input(batch_shape=shape)
    model = keras.Model(x, function(x))
    with read_spec(model.to_json()) as loaded:
        graph = loaded.graph
        resolve(graph, weights_in_file=False)
    inputs = case_inputs(shape)
    ours = run_reference(graph, [], [inputs]).outputs
    expected = model.predict(inputs, verbose=0)
    expected = expected if isinstance(expected, list) else [expected]  # Split: several
    assert len(ours) == len(expected)
    for mine, theirs in zip(ours, expected, strict=True):
        assert mine.dtype == theirs.dtype
        np.testing.assert_array_equal(mine, theirs)


def test_take_with_a_tensor_of_indices_runs_like_keras():
    x = keras.Input((3, 4))
    indices = keras.Input((2,), dtype="int32")
    model = keras.Model([x, indices], keras.ops.take(x, indices, axis=1))
    with read_spec(model.to_json()) as loaded:
        graph = loaded.graph
        resolve(graph, weights_in_file=False)
    inputs = [case_inputs((None, 3, 4)), np.array([[2, -1], [0, 0]], dtype="int32")]
    [ours] = run_reference(graph, [], inputs).outputs
    np.testing.assert_array_equal(ours, model.predict(inputs, verbose=0))
