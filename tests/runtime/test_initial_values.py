"""Loading without drawing initial values (app.check.keras.initial_values) gives the model
plain Keras loads: every variable and every layer output equal bit for bit, for each way a
model reaches the worker (`.keras`, `.h5`, a spec with `set_weights`); a load that leaves a
variable unassigned, or fails, is done again plainly."""

from __future__ import annotations

import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

from app.check.keras import WorkerPool
from app.check.keras.initial_values import deferred_initializers, load_faithfully
from app.check.keras.loading import load_model
from app.check.keras.worker import run_job
from tests.runtime.jobfiles import existing_file_job, file_job, spec_job

# A float variable's values; a SeedGenerator's state is drawn anew by every load (seed=None)
# and is not the file's: it is compared apart.
SEED_STATE = "seed_generator_state"


def trained_like():
    """Conv2D → BatchNormalization (statistics not 0 and 1) → Dropout → Dense, every weight
    drawn from a seeded generator, so that no value equals an initializer's."""
    model = keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            keras.layers.Conv2D(3, 3, name="conv"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Dropout(0.5, name="drop"),
            keras.layers.Flatten(),
            keras.layers.Dense(2, name="dense"),
        ]
    )
    rng = np.random.default_rng(3)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


INPUTS = [np.random.default_rng(5).normal(size=(2, 6, 6, 2)).astype("float32")]


def values(model) -> list[tuple[str, bytes]]:
    """Each variable's name within its layer and its bytes, in Keras' order."""
    return [
        ("/".join(v.path.split("/")[-2:]), np.asarray(v).tobytes())
        for v in model.variables
        if SEED_STATE not in v.path
    ]


def outputs(job_dir: Path, request) -> list[bytes]:
    result = run_job(keras, request, lambda *_: None)
    assert result.status == "ok", result
    return [np.load(job_dir / path).tobytes() for layer in result.layers for path in layer.outputs]


def both_ways(request):
    """(plain, deferred) loads of one request."""
    plain = load_model(keras, request.model_copy(update={"defer_initializers": False}), [])
    deferred = load_model(keras, request, [])
    return plain, deferred


def test_a_variable_made_while_deferred_reads_as_its_initializer_and_is_counted_until_assigned():
    with deferred_initializers(keras) as unassigned:
        assigned = keras.Variable(keras.initializers.Constant(3.0), shape=(2,))
        left = keras.Variable(keras.initializers.Constant(4.0), shape=(3,))
        assert np.asarray(left).tolist() == [4.0, 4.0, 4.0]  # read before any assignment
        assigned.assign([1.0, 2.0])
        assigned.assign([5.0, 6.0])  # its second assignment: into the variable the first made
    assert unassigned == [left]
    assert np.asarray(assigned).tolist() == [5.0, 6.0]
    assert assigned.dtype == "float32"


def test_a_variable_made_while_deferred_gets_its_tensorflow_variable_from_its_assignment():
    with deferred_initializers(keras):
        variable = keras.Variable(keras.initializers.Constant(3.0), shape=(2,), name="v")
        assert variable._value is None  # no TensorFlow variable, so no zeros made and assigned
        variable.assign([1.0, 2.0])
    assert np.asarray(variable.value.read_value()).tolist() == [1.0, 2.0]
    assert variable.value.name.startswith("v")


def test_keras_initializes_as_before_once_the_load_is_over():
    with deferred_initializers(keras):
        pass
    made = keras.Variable(keras.initializers.Constant(4.0), shape=(3,))
    assert np.asarray(made).tolist() == [4.0, 4.0, 4.0]


def test_a_seed_generator_state_is_made_from_its_seed_as_keras_makes_it():
    with deferred_initializers(keras) as unassigned:
        generator = keras.random.SeedGenerator(seed=1234)
    assert np.asarray(generator.state).tolist() == [1234, 0]
    assert unassigned == []


def test_a_load_that_leaves_a_variable_unassigned_is_done_again_plainly():
    calls = []

    def load():
        calls.append(1)
        layer = keras.layers.Dense(2, kernel_initializer=keras.initializers.Constant(5.0))
        layer.build((None, 3))
        return layer

    layer = load_faithfully(keras, load)
    assert len(calls) == 2
    assert np.asarray(layer.kernel).tolist() == [[5.0, 5.0]] * 3


def test_a_load_that_fails_deferred_is_done_again_plainly():
    calls = []

    def load():
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("first")
        return "model"

    assert load_faithfully(keras, load) == "model"
    assert len(calls) == 2


def test_the_pool_hands_each_job_its_setting(tmp_path):
    request = file_job(tmp_path / "job", trained_like(), INPUTS)
    assert request.defer_initializers  # the default
    pool = WorkerPool(size=1, spares=0, defer_initializers=False)  # never started: jobs wait
    pool.submit(request)
    assert [job.request.defer_initializers for job in pool._pending] == [False]
    pool.stop()


def test_a_model_whose_file_assigns_every_variable_is_loaded_once(tmp_path):
    trained_like().save(tmp_path / "m.keras")
    with deferred_initializers(keras) as unassigned:
        keras.saving.load_model(tmp_path / "m.keras", safe_mode=True, compile=False)
    assert unassigned == []


def test_a_keras_file_loads_to_the_same_values_and_outputs(tmp_path):
    model = trained_like()
    request = file_job(tmp_path / "job", model, INPUTS)
    plain, deferred = both_ways(request)
    assert values(deferred) == values(plain) == values(model)
    plain_outputs = outputs(
        tmp_path / "job", request.model_copy(update={"defer_initializers": False})
    )
    assert outputs(tmp_path / "job", request) == plain_outputs


def test_an_h5_file_loads_to_the_same_values_and_outputs(tmp_path):
    model = trained_like()
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    model.save(job_dir / "model.h5")
    request = existing_file_job(job_dir, job_dir / "model.h5", INPUTS)
    plain, deferred = both_ways(request)
    assert values(deferred) == values(plain)
    assert [np.asarray(w).tobytes() for w in deferred.get_weights()] == [
        w.tobytes() for w in model.get_weights()
    ]
    plain_outputs = outputs(job_dir, request.model_copy(update={"defer_initializers": False}))
    assert outputs(job_dir, request) == plain_outputs


def test_a_spec_with_its_weights_loads_to_the_same_values(tmp_path):
    model = trained_like()
    request = spec_job(tmp_path / "job", model, INPUTS)
    plain, deferred = both_ways(request)
    assert values(deferred) == values(plain)
    assert [w.tobytes() for w in deferred.get_weights()] == [
        w.tobytes() for w in model.get_weights()
    ]


CORPUS_FILES = [
    "hls4ml_keras_3layer_batch_norm.h5",
    "leyuzak_mnist_cnn_bn.keras",
    "spam_gru_model.keras",
    "extras/face_classification_fer2013_big_XCEPTION.54-0.66.hdf5",
]


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_corpus_files_load_to_the_same_values_and_outputs(tmp_path, corpus, name):
    source = corpus / name
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    path = job_dir / ("model" + source.suffix.replace(".hdf5", ".h5"))
    shutil.copyfile(source, path)  # a job's files are inside its folder
    x = np.load(source.with_name(source.name.rsplit(".", 1)[0] + ".input.npy"))
    request = existing_file_job(job_dir, path, [x])
    plain, deferred = both_ways(request)
    assert values(deferred) == values(plain)
    plain_outputs = outputs(job_dir, request.model_copy(update={"defer_initializers": False}))
    assert outputs(job_dir, request) == plain_outputs


@pytest.mark.slow
@pytest.mark.parametrize("name", ["MobileNetV2", "ResNet50"])
def test_applications_load_to_the_same_values_and_outputs(tmp_path, name):
    model = getattr(keras.applications, name)(weights=None)
    x = [np.random.default_rng(0).normal(size=(2, 224, 224, 3)).astype("float32")]
    request = file_job(tmp_path / "job", model, x)
    plain, deferred = both_ways(request)
    assert values(deferred) == values(plain) == values(model)
    del plain, deferred
    plain_outputs = outputs(
        tmp_path / "job", request.model_copy(update={"defer_initializers": False})
    )
    assert outputs(tmp_path / "job", request) == plain_outputs
