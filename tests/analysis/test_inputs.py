"""Check inputs: seeded ones with documented sizes, and the caller's, checked."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from app.analysis.resolve import resolve
from app.check.inputs import caller_inputs, make_inputs, planned_inputs, read_caller_arrays
from app.errors import InvalidNumber, InvalidRequest
from app.formats.config import parse_model
from app.schemas import InputInfo
from tests.support.kerasref import keras

layers = keras.layers


def resolved(model):
    g = parse_model(json.loads(model.to_json()))
    resolve(g, weights_in_file=False)
    return g


def test_make_inputs_is_seeded_and_fills_unknown_sizes():
    g = resolved(keras.Sequential([keras.Input((None, None, 3)), layers.Conv2D(2, 3)]))
    arrays, info = make_inputs(planned_inputs(g), seed=4)
    again, _ = make_inputs(planned_inputs(g), seed=4)
    assert arrays[0].shape == (2, 32, 32, 3) and arrays[0].dtype == np.float32
    np.testing.assert_array_equal(arrays[0], again[0])
    assert info.notes == [
        f"{g.inputs[0].layer}: unknown sizes in (None, None, None, 3) were "
        "set to (2, 32, 32, 3) (time steps 8, other axes 32)."
    ]


def test_make_inputs_gives_embedding_inputs_ids_and_padding():
    g = resolved(keras.Sequential([keras.Input((10,)), layers.Embedding(7, 2, mask_zero=True)]))
    [ids], info = make_inputs(planned_inputs(g), seed=0)
    assert ids.dtype.kind == "i" and ids.min() >= 0 and ids.max() < 7
    assert (ids[1, -2:] == 0).all() and (ids[0] > 0).all()
    assert "integer ids in [0, 7)" in info.notes[0]


def test_caller_inputs_cast_to_the_input_dtype():
    info = [InputInfo(name="x", shape=[None, 2], dtype="float32")]
    [array], made = caller_inputs(info, read_caller_arrays(info, value="[[0, 1], [2, 3]]"))
    assert array.dtype == np.float32 and array.tolist() == [[0, 1], [2, 3]]
    assert (made.source, made.batch_size, made.shapes) == ("caller", 2, [[2, 2]])


@pytest.mark.parametrize(
    "value",
    ["[[0, 1, 2]]", "[[0, 1], [2]]", '[["a", "b"]]', "not json", "[]", '{"y": [[1, 2]], "z": 1}'],
)
def test_caller_inputs_that_do_not_fit_are_invalid_requests(value):
    info = [InputInfo(name="x", shape=[None, 2], dtype="float32")]
    with pytest.raises(InvalidRequest):
        caller_inputs(info, read_caller_arrays(info, value=value))


def test_read_caller_arrays_refuses_pickled_npy(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    info = [InputInfo(name="x", shape=[None], dtype="float32")]
    with pytest.raises(InvalidRequest):
        read_caller_arrays(info, path=path)


def test_read_caller_arrays_takes_npz_by_name_or_position(tmp_path):
    info = [InputInfo(name=n, shape=[None, 1], dtype="float32") for n in ("a", "b")]
    for names in (("a", "b"), ("x0", "x1")):
        buffer = io.BytesIO()
        np.savez(buffer, **{names[1]: np.ones((1, 1)), names[0]: np.zeros((1, 1))})
        path = tmp_path / "x.npz"
        path.write_bytes(buffer.getvalue())
        first, second = read_caller_arrays(info, path=path)
        assert (first.tolist(), second.tolist()) == ([[0.0]], [[1.0]])


def test_caller_inputs_json_with_nan_is_refused():
    info = [InputInfo(name="x", shape=[None, 2], dtype="float32")]
    with pytest.raises(InvalidNumber):
        read_caller_arrays(info, value="[[NaN, 1]]")
