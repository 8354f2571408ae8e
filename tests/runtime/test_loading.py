"""The worker's Keras side, run in this process: loading, refusals, the every-layer model."""

from __future__ import annotations

import shutil
import tempfile

import keras
import numpy as np
import pytest

from app.check.keras import load_output
from app.check.keras.jobs import JobFailed
from app.check.keras.loading import load_model
from app.check.keras.worker import run_job
from tests.runtime.jobfiles import existing_file_job, file_job
from tests.support.files import with_edited_config
from tests.support.models import SEED_INPUT, seed_batchnorm


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """What the pool gives a worker: its temporary files land in a private folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    return tmp_path


def test_load_refused_key_names_class_and_key(private_tmp):
    seed = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, name="d")])
    seed.save(private_tmp / "seed.keras")
    job_dir = private_tmp / "job"
    job_dir.mkdir()

    def add_key(config):
        config["config"]["layers"][1]["config"]["foo_bar"] = {"nested": 1}

    path = with_edited_config(private_tmp / "seed.keras", job_dir / "model.keras", add_key)

    with pytest.raises(JobFailed) as failed:
        load_model(keras, existing_file_job(job_dir, path, [SEED_INPUT]), [])

    assert failed.value.result.code == "keras-load-failed"
    assert failed.value.result.message == (
        "Keras 3 cannot load this file: its config gives Dense the keys foo_bar, "
        "which this Keras version refuses."
    )
    assert failed.value.result.reason == {
        "kind": "refused-keys",
        "class_name": "Dense",
        "keys": ["foo_bar"],
    }


def test_load_lambda_is_refused_in_safe_mode(private_tmp):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda t: t * 2)])

    with pytest.raises(JobFailed) as failed:
        load_model(keras, file_job(private_tmp / "job", model, [SEED_INPUT]), [])

    assert failed.value.result.message == (
        "Keras refused to load this file in safe mode: its config holds Python code "
        "(for example the function of a Lambda layer)."
    )
    assert failed.value.result.exception_type == "ValueError"


@pytest.mark.parametrize("saved_as", ["model.keras", "model.h5"])
def test_load_file_named_without_extension(private_tmp, saved_as):
    job_dir = private_tmp / "job"
    job_dir.mkdir()
    seed_batchnorm().save(private_tmp / saved_as)
    shutil.copy(private_tmp / saved_as, job_dir / "upload.bin")

    model = load_model(keras, existing_file_job(job_dir, job_dir / "upload.bin", [SEED_INPUT]), [])

    assert [type(layer).__name__ for layer in model.layers] == ["BatchNormalization"]


def test_run_job_reports_shared_and_nested_layers(private_tmp):
    inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)], name="inner")
    a, b = keras.Input((3,)), keras.Input((3,))
    shared = keras.layers.Dense(3, name="shared")
    summed = keras.layers.Add(name="add")([shared(a), shared(b)])
    model = keras.Model([a, b], inner(summed))
    xa, xb = np.ones((2, 3), "float32"), np.arange(6, dtype="float32").reshape(2, 3)
    job_dir = private_tmp / "job"
    request = file_job(job_dir, model, [xa, xb])

    result = run_job(keras, request, _no_progress)

    assert result.status == "ok", result.message
    assert [(r.name, len(r.outputs), r.nested) for r in result.layers] == [
        ("shared", 2, False),
        ("add", 1, False),
        ("inner", 1, True),
    ]
    assert result.model_outputs == result.layers[2].outputs
    np.testing.assert_allclose(
        load_output(job_dir, result.model_outputs[0]),
        model.predict([xa, xb], verbose=0),
        rtol=1e-6,
        atol=1e-6,
    )
    assert result.notes == [
        "shared is called 2 times: its outputs are listed call by call.",
        "inner is a nested model: only its output is reported; its inner layers are not "
        "reachable from the outer graph.",
    ]


def test_run_job_refuses_wrong_input_shape(private_tmp):
    request = file_job(private_tmp / "job", seed_batchnorm(), [np.ones((2, 3), "float32")])

    result = run_job(keras, request, _no_progress)

    assert (result.status, result.code) == ("error", "invalid-inputs")
    assert result.message == "Input x0 has shape (2, 3); the model expects (None, 2)."


def test_a_load_after_keep_attr_skipsets_lists_no_skipset_again(private_tmp, monkeypatch):
    from keras.src.backend.common import global_state

    from app.check.keras.loading import keep_attr_skipsets

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    request = file_job(private_tmp / "job", model, [SEED_INPUT])
    keep_attr_skipsets(keras)
    listed = []
    set_attribute = global_state.set_global_attribute

    def recording(name, value, *args, **kwargs):
        if name.startswith("saving_attr_skip"):
            listed.append(name)
        return set_attribute(name, value, *args, **kwargs)

    monkeypatch.setattr(global_state, "set_global_attribute", recording)
    loaded = load_model(keras, request, [])

    assert listed == []  # Keras' loader computed each set again on every layer before
    for mine, theirs in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
