"""Real worker processes behind one shared pool: Keras numbers, crashes, limits, refusals."""

from __future__ import annotations

import os
import signal
import threading

import keras
import numpy as np
import pytest

from app.check.keras import JobResult, WorkerPool, load_output
from tests.runtime.jobfiles import existing_file_job, file_job, spec_job
from tests.support.files import with_edited_config
from tests.support.kerasref import per_layer_predict
from tests.support.models import SEED_INPUT, dense_bn_dense, seed_batchnorm, slow_model

WAIT_S = 180


@pytest.fixture(scope="module")
def pool(warm_pool):
    """The session's warm pool, for the tests that leave it as they found it."""
    with warm_pool.lent() as pool:
        assert pool.wait_ready(WAIT_S), "no Keras worker became ready"
        yield pool


@pytest.fixture(scope="module")
def killing_pool():
    """A pool of this module's own for the tests whose workers are killed (SIGKILL, past
    the timeout, over the memory ceiling): if the pool did not recover, only they fail."""
    pool = WorkerPool(size=1, spares=1, timeout_s=120)
    pool.start()
    assert pool.wait_ready(WAIT_S), "no Keras worker became ready"
    yield pool
    pool.stop()


def _run(pool: WorkerPool, request, **limits) -> JobResult:
    return pool.submit(request, **limits).result(timeout=WAIT_S)


def _arrays(job_dir, paths: list[str]) -> list[np.ndarray]:
    return [load_output(job_dir, path) for path in paths]


def test_state_reports_worker_keras_version(pool):
    state = pool.state()

    assert state["keras_version"] == keras.__version__
    assert state["workers"] >= 1


def test_run_seed_batchnorm_inference_divides_by_sqrt_variance(pool, tmp_path):
    request = file_job(tmp_path, seed_batchnorm(), [SEED_INPUT])

    result = _run(pool, request)

    assert result.status == "ok", result.message
    [layer] = result.layers
    assert (layer.class_name, layer.shapes) == ("BatchNormalization", [[2, 2]])
    assert result.model_outputs == layer.outputs
    np.testing.assert_allclose(
        load_output(tmp_path, layer.outputs[0]),
        [[0, 0.9995004], [1.9990008, 2.9985013]],
        atol=1e-6,
    )


def test_run_seed_batchnorm_training_uses_batch_statistics(pool, tmp_path):
    request = file_job(tmp_path, seed_batchnorm(), [SEED_INPUT], mode="training")

    result = _run(pool, request)

    assert (result.status, result.mode) == ("ok", "training"), result.message
    np.testing.assert_allclose(
        load_output(tmp_path, result.model_outputs[0]),
        [[-0.9995, -0.9995], [0.9995, 0.9995]],
        atol=1e-4,
    )


def test_run_dense_bn_dense_matches_keras_layer_by_layer(pool, tmp_path):
    model = dense_bn_dense()
    x = np.random.default_rng(1).normal(size=(5, 4)).astype("float32")
    expected = per_layer_predict(model, x)

    result = _run(pool, file_job(tmp_path, model, [x]))

    assert result.status == "ok", result.message
    assert [layer.class_name for layer in result.layers] == ["Dense", "BatchNormalization", "Dense"]
    got = [_arrays(tmp_path, layer.outputs)[0] for layer in result.layers]
    assert [a.shape for a in got] == [e.shape for e in expected] == [(5, 3), (5, 3), (5, 2)]
    for actual, reference in zip(got, expected, strict=True):
        np.testing.assert_allclose(actual, reference, rtol=1e-6, atol=1e-6)


def test_run_in_groups_of_one_output_gives_the_same_numbers(pool, tmp_path):
    """group_bytes=1: every output is asked for in a run of its own (the worker then holds
    one output at a time), and each equals Keras' per-layer predict."""
    model = dense_bn_dense()
    x = np.random.default_rng(2).normal(size=(5, 4)).astype("float32")
    expected = per_layer_predict(model, x)
    request = file_job(tmp_path, model, [x]).model_copy(update={"group_bytes": 1})
    stages = []

    result = pool.submit(request, lambda p: stages.append((p.stage, p.total))).result(WAIT_S)

    assert result.status == "ok", result.message
    assert ("predicting", 3) in stages  # three outputs, three runs
    got = [_arrays(tmp_path, layer.outputs)[0] for layer in result.layers]
    for actual, reference in zip(got, expected, strict=True):
        np.testing.assert_allclose(actual, reference, rtol=1e-6, atol=1e-6)


def test_run_training_turns_dropout_off_and_says_so(pool, tmp_path):
    model = dense_bn_dense(dropout=0.5)
    x = np.random.default_rng(2).normal(size=(6, 4)).astype("float32")
    dense1, bn, _, dense2 = model.layers
    expected = dense2(bn(dense1(x), training=True))  # dropout left out: rate 0

    result = _run(pool, file_job(tmp_path, model, [x], mode="training"))

    assert result.status == "ok", result.message
    np.testing.assert_allclose(
        load_output(tmp_path, result.model_outputs[0]), np.asarray(expected), atol=1e-5
    )
    assert any("dropout was set to 0 in dropout" in note for note in result.notes)


def test_run_spec_with_weights_matches_predict(pool, tmp_path):
    model = dense_bn_dense()
    x = np.random.default_rng(3).normal(size=(4, 4)).astype("float32")
    expected = model.predict(x, verbose=0)

    result = _run(pool, spec_job(tmp_path, model, [x]))

    assert result.status == "ok", result.message
    assert len(result.layers) == 3
    np.testing.assert_allclose(
        load_output(tmp_path, result.model_outputs[0]), expected, rtol=1e-6, atol=1e-6
    )


def test_load_unknown_class_says_so_in_plain_words(pool, tmp_path):
    seed_batchnorm().save(tmp_path / "seed.keras")
    job_dir = tmp_path / "job"
    job_dir.mkdir()

    def rename_class(config):
        config["config"]["layers"][1]["class_name"] = "NoSuchLayer"

    model_path = with_edited_config(tmp_path / "seed.keras", job_dir / "model.keras", rename_class)

    result = _run(pool, existing_file_job(job_dir, model_path, [SEED_INPUT]))

    assert (result.status, result.code) == ("error", "keras-load-failed")
    assert result.message == (
        "Keras 3 cannot load this file: its config uses the class NoSuchLayer, "
        "which this Keras version does not know."
    )
    assert result.exception_type == "ValueError"
    assert result.reason == {"kind": "unknown-class", "class_name": "NoSuchLayer"}
    assert result.layers == [] and not (job_dir / "outputs").exists()


def test_run_pickled_inputs_are_refused(pool, tmp_path):
    request = file_job(tmp_path, seed_batchnorm(), [SEED_INPUT])
    np.savez(tmp_path / "inputs.npz", x0=np.array([SEED_INPUT, None], dtype=object))

    result = _run(pool, request)

    assert (result.status, result.code) == ("error", "invalid-inputs")
    assert result.message == "The inputs file must hold x0, plain arrays only."


# Last, so that their own pool runs only while they do.
def test_kill_busy_worker_reports_crash_then_next_job_passes(killing_pool, tmp_path):
    predicting = threading.Event()

    def on_progress(progress):
        if progress.stage == "predicting":
            predicting.set()

    request = file_job(tmp_path / "slow", slow_model(), [np.ones((1, 1), "float32")])
    future = killing_pool.submit(request, on_progress)
    assert predicting.wait(WAIT_S)
    [pid] = killing_pool.busy_pids()
    os.kill(pid, signal.SIGKILL)

    crashed = future.result(timeout=WAIT_S)
    after = _run(killing_pool, file_job(tmp_path / "seed", seed_batchnorm(), [SEED_INPUT]))

    assert (crashed.status, crashed.code) == ("error", "worker-crashed")
    assert after.status == "ok", after.message


def test_run_slow_model_times_out(killing_pool, tmp_path):
    request = file_job(tmp_path, slow_model(), [np.ones((1, 1), "float32")])

    result = _run(killing_pool, request, timeout_s=2.0)

    assert (result.status, result.code) == ("timeout", "timeout")
    assert not (tmp_path / "result.json").exists()


def test_run_over_memory_ceiling_is_killed(killing_pool, tmp_path):
    request = file_job(tmp_path, slow_model(), [np.ones((1, 1), "float32")])

    result = _run(
        killing_pool, request, max_rss_bytes=32 * 1024 * 1024
    )  # TensorFlow alone needs more

    assert (result.status, result.code) == ("error", "memory-exceeded")
