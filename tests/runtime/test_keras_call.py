"""How the worker runs the model: an eager call by default, `predict` when asked, and both
give the same numbers (within float32 noise: never bit equality, which depends on the CPU).

Run in this process (the worker's own `run_job`), on real files of ../shared/corpus with the
inputs saved beside them.
"""

from __future__ import annotations

import shutil

import keras
import numpy as np
import pytest

from app.check.keras import JobRequest, load_output, write_arrays
from app.check.keras.worker import run_job
from tests.runtime.jobfiles import file_job
from tests.support.models import SEED_INPUT

# Float32 noise over a few dozen layers; the bench (bench/keras_call.py) found them equal.
RTOL = 1e-5
CORPUS_MODELS = ["leyuzak_mnist_cnn_bn", "spam_gru_model"]


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def corpus_job(job_dir, corpus, name: str, keras_call: str) -> JobRequest:
    job_dir.mkdir()
    shutil.copyfile(corpus / f"{name}.keras", job_dir / "model.keras")
    inputs = np.load(corpus / f"{name}.input.npy", allow_pickle=False)
    write_arrays(job_dir / "inputs.npz", "x", [inputs])
    return JobRequest(
        job_dir=str(job_dir),
        model_path=str(job_dir / "model.keras"),
        kind="file",
        inputs_path=str(job_dir / "inputs.npz"),
        keras_call=keras_call,
    )


def outputs(job_dir, result) -> dict[str, list[np.ndarray]]:
    return {
        layer.name: [load_output(job_dir, path) for path in layer.outputs]
        for layer in result.layers
    }


@pytest.mark.parametrize("name", CORPUS_MODELS)
def test_eager_call_and_predict_agree_on_a_corpus_model(tmp_path, corpus, name):
    results = {}
    for call in ("call", "predict"):
        job = corpus_job(tmp_path / call, corpus, name, call)
        result = run_job(keras, job, _no_progress)
        assert result.status == "ok", result
        assert result.keras_call == call
        results[call] = outputs(tmp_path / call, result)
    eager, predicted = results["call"], results["predict"]
    assert list(eager) == list(predicted) and len(eager) > 3
    for layer, arrays in predicted.items():
        for ours, theirs in zip(eager[layer], arrays, strict=True):
            scale = float(np.max(np.abs(theirs))) or 1.0
            np.testing.assert_allclose(ours, theirs, rtol=0, atol=RTOL * scale, err_msg=layer)


@pytest.mark.parametrize("call", ["call", "predict"])
def test_the_worker_runs_the_call_asked_for_and_names_it(tmp_path, monkeypatch, call):
    predicted = []
    original = keras.Model.predict

    def spy(self, *args, **kwargs):
        predicted.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "predict", spy)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    job = file_job(tmp_path, model, [SEED_INPUT]).model_copy(update={"keras_call": call})
    result = run_job(keras, job, _no_progress)
    assert result.status == "ok"
    assert result.keras_call == call
    assert len(predicted) == (1 if call == "predict" else 0)


def test_training_mode_calls_the_model_whatever_was_asked(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.BatchNormalization(axis=1)])
    job = file_job(tmp_path, model, [SEED_INPUT], mode="training")
    result = run_job(keras, job, _no_progress)
    assert result.status == "ok" and result.keras_call == "call"
    [layer] = result.layers
    np.testing.assert_allclose(
        load_output(tmp_path, layer.outputs[0]), [[-0.9995, -0.9995], [0.9995, 0.9995]], atol=1e-4
    )


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        (lambda: keras.layers.Dense(2), "call"),
        (lambda: keras.layers.GRU(2), "predict"),
        (lambda: keras.layers.Bidirectional(keras.layers.LSTM(2)), "predict"),
        (lambda: keras.layers.LayerNormalization(), "predict"),
    ],
    ids=["dense", "gru", "bidirectional-lstm", "layer-normalization"],
)
def test_the_worker_makes_the_faster_call_when_none_is_asked(
    tmp_path, monkeypatch, layer, expected
):
    """Eagerly, a recurrent layer loops from Python one time step at a time, and a
    LayerNormalization parts from predict (the corpus's transformers): predict."""
    predicted = []
    original = keras.Model.predict
    monkeypatch.setattr(
        keras.Model, "predict", lambda self, *a, **k: predicted.append(1) or original(self, *a, **k)
    )
    model = keras.Sequential([keras.Input((3, 2)), layer()])
    x = np.arange(12, dtype="float32").reshape(2, 3, 2)
    result = run_job(keras, file_job(tmp_path, model, [x]), _no_progress)
    assert result.status == "ok", result
    assert result.keras_call == expected
    assert len(predicted) == (1 if expected == "predict" else 0)
