"""The worker's eager call hands each layer's output on as soon as the layer has run
(app.check.keras.running.streamed), so the comparison takes the first layers while Keras runs
the last; the values are those of Keras' own call (float32 noise allowed: never bit
equality, which depends on the CPU)."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import app.check.keras.outputs as outputs_module
from app.check.keras import load_output
from app.check.keras.jobs import JobFailed
from app.check.keras.running import run
from app.check.keras.worker import run_job
from app.check.streaming import KERAS_LIST
from tests.runtime.jobfiles import file_job
from tests.support.models import randomize_weights

RTOL, ATOL = 1e-5, 1e-6


class Marker(keras.layers.Layer):
    """Passes its input on, and notes in `events` when Keras calls it."""

    def __init__(self, events: list, **kwargs) -> None:
        super().__init__(**kwargs)
        self.note = events.append  # a list itself Keras would track as a copy

    def call(self, x):
        self.note("marker ran")
        return x


def conv_bn_marker_dense(events: list) -> keras.Model:
    inputs = keras.Input((5, 5, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = Marker(events)(x)
    outputs = keras.layers.Dense(2)(x)
    return randomize_weights(keras.Model(inputs, outputs))


def every_layer(model: keras.Model) -> keras.Model:
    return keras.Model(model.inputs, [layer.output for layer in model.layers[1:]])


def test_each_output_is_handed_on_before_the_layers_after_it_run():
    events: list = []
    probe = every_layer(conv_bn_marker_dense(events))
    x = np.random.default_rng(0).normal(size=(2, 5, 5, 3)).astype("float32")
    handed: dict[int, np.ndarray] = {}
    events.clear()  # the marker ran once symbolically, building the model

    def arrived(k: int, array: np.ndarray) -> None:
        events.append(f"output {k}")
        handed[k] = array

    returned = run(keras, probe, probe, [x], "inference", "call", arrived)
    assert events == ["output 0", "output 1", "marker ran", "output 2", "output 3"]
    assert returned == [None, None, None, None]
    expected = probe([x], training=False)
    for k, value in enumerate(expected):
        assert isinstance(handed[k], np.ndarray)
        np.testing.assert_allclose(handed[k], keras.ops.convert_to_numpy(value), RTOL, ATOL)


def test_training_mode_reaches_the_layers_through_the_handing_on():
    """BatchNormalization in training mode normalizes by the batch's own statistics: the
    randomized moving statistics would give other values (checked: far apart)."""
    probe = every_layer(conv_bn_marker_dense([]))
    x = np.random.default_rng(1).normal(size=(4, 5, 5, 3)).astype("float32")
    handed: dict[int, np.ndarray] = {}
    run(keras, probe, probe, [x], "training", "call", handed.__setitem__)
    training = keras.ops.convert_to_numpy(probe([x], training=True)[1])
    inference = keras.ops.convert_to_numpy(probe([x], training=False)[1])
    assert np.abs(training - inference).max() > 0.1
    np.testing.assert_allclose(handed[1], training, RTOL, ATOL)


def test_a_shared_layer_hands_each_call_and_an_input_output_comes_back():
    """A Dense called twice gives two outputs, each handed on; an Input given as an output is
    computed by no layer, so it comes back from the call instead."""
    inputs = keras.Input((3,))
    dense = keras.layers.Dense(3)
    first = dense(inputs)
    second = dense(first)
    probe = randomize_weights(keras.Model([inputs], [first, second, inputs]))
    x = np.arange(6, dtype="float32").reshape(2, 3)
    handed: dict[int, np.ndarray] = {}
    returned = run(keras, probe, probe, [x], "inference", "call", handed.__setitem__)
    assert sorted(handed) == [0, 1]
    assert returned[:2] == [None, None]
    np.testing.assert_array_equal(returned[2], x)
    kernel, bias = (np.asarray(w.numpy()) for w in dense.weights)
    once = x @ kernel + bias
    np.testing.assert_allclose(handed[0], once, RTOL, ATOL)
    np.testing.assert_allclose(handed[1], once @ kernel + bias, RTOL, ATOL)


def test_without_a_receiver_every_output_comes_back():
    probe = every_layer(conv_bn_marker_dense([]))
    x = np.ones((1, 5, 5, 3), "float32")
    returned = run(keras, probe, probe, [x], "inference", "call")
    assert [r.shape for r in returned] == [(1, 5, 5, 4), (1, 5, 5, 4), (1, 5, 5, 4), (1, 5, 5, 2)]


@pytest.mark.parametrize("keras_call", ["call", "predict"])
def test_a_job_lists_every_output_once_with_its_complete_file(tmp_path, keras_call):
    model = keras.Sequential(
        [
            keras.Input((5, 5, 3)),
            keras.layers.Conv2D(4, 3),
            keras.layers.BatchNormalization(),
            keras.layers.Flatten(),
            keras.layers.Dense(2),
        ]
    )
    x = np.random.default_rng(2).normal(size=(2, 5, 5, 3)).astype("float32")
    job = file_job(tmp_path, randomize_weights(model), [x])
    job = job.model_copy(update={"keras_call": keras_call})
    result = run_job(keras, job, lambda stage, done, total: None)
    assert result.status == "ok", result
    listed = [json.loads(line) for line in (tmp_path / KERAS_LIST).read_text().splitlines()]
    paths = [layer.outputs[0] for layer in result.layers]
    assert sorted(entry["path"] for entry in listed) == sorted(paths)
    every = keras.Model(model.inputs, [layer.output for layer in model.layers])  # no Input
    expected = every([x], training=False)
    for entry, layer in zip(sorted(listed, key=lambda e: e["path"]), sorted(paths), strict=True):
        assert entry["shape"] == list(load_output(tmp_path, layer).shape)
    for path, value in zip(paths, expected, strict=True):
        np.testing.assert_allclose(
            load_output(tmp_path, path), keras.ops.convert_to_numpy(value), RTOL, ATOL
        )


def test_a_failure_to_write_an_output_is_told_as_such():
    """Keras' call turns an exception it does not know into a RuntimeError of its text: the
    write's own failure (its code) is what the job says."""
    probe = every_layer(conv_bn_marker_dense([]))

    def arrived(k: int, array: np.ndarray) -> None:
        raise JobFailed("write-failed", "The worker could not write the outputs.")

    x = np.ones((1, 5, 5, 3), "float32")
    with pytest.raises(JobFailed) as failed:
        run(keras, probe, probe, [x], "inference", "call", arrived)
    assert failed.value.result.code == "write-failed"


def test_a_file_taken_by_the_comparison_as_soon_as_it_is_listed_is_no_failure(
    tmp_path, monkeypatch
):
    """The comparison may take (and delete) a layer's file the moment it is listed, while
    Keras still runs: the worker reads nothing of it after listing it."""
    model = randomize_weights(
        keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(2)])
    )
    job = file_job(tmp_path, model, [np.ones((2, 4), "float32")])
    job = job.model_copy(update={"keras_call": "call"})
    listing = outputs_module.append_line
    taken: list[str] = []

    def list_and_take(path, entry):
        listing(path, entry)
        if entry["path"] != "outputs/1.npy":  # the model's output is never taken
            (tmp_path / entry["path"]).unlink()
            taken.append(entry["path"])

    monkeypatch.setattr(outputs_module, "append_line", list_and_take)
    result = run_job(keras, job, lambda stage, done, total: None)
    assert result.status == "ok", result
    assert taken == ["outputs/0.npy"]
