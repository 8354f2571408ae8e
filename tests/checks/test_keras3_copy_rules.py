"""Keras 2 spellings that Keras 3.15 refuses, rewritten by the check's Keras 3 copy
(app/check/keras3_copy.py), on files real writers wrote: the plan names each rewrite (so the
check runs on the copy), and Keras 3.15 itself loads the copy and gives the writer's outputs,
or the file's own weights."""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from app.analysis.resolve import resolve
from app.check.compare import errors
from app.check.keras3_files import write_keras3_copy
from app.check.plan import plan_check
from app.config import Settings
from app.formats import ReadLimits, read_model
from tests.support.kerasref import keras

MATRIX = Path(__file__).parents[1] / "writers" / "files"
WILD = Path(__file__).parents[2].parent / "shared" / "corpus" / "wild" / "keras2"
IN_PROCESS = ReadLimits(isolate_hdf5=False)
TOLERANCE = Settings().check_tolerance


def planned_rewrites(path: Path) -> list[str]:
    with read_model(path, IN_PROCESS) as loaded:
        resolve(loaded.graph, weights_in_file=True)
        plan = plan_check(loaded.graph)
    assert plan.keras3_blockers == []
    return plan.keras3_removals


def keras3_copy(path: Path, folder: Path):
    copy = folder / f"copy{path.suffix}"
    write_keras3_copy(path, "keras_v3", copy)
    with warnings.catch_warnings():  # as in the check's worker (`alpha` is deprecated)
        warnings.simplefilter("ignore")
        return keras.saving.load_model(copy, compile=False, safe_mode=True)


def writer_arrays(path: Path, prefix: str) -> list[np.ndarray]:
    with np.load(path.with_suffix(".npz")) as npz:
        count = sum(1 for key in npz.files if key[0] == prefix and key[1:].isdigit())
        return [npz[f"{prefix}{i}"] for i in range(count)]


def assert_gives_the_writers_outputs(model, path: Path) -> None:
    inputs = writer_arrays(path, "x")
    outputs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
    expected = writer_arrays(path, "y")
    assert len(outputs) == len(expected)
    for ours, theirs in zip(outputs, expected, strict=True):
        assert errors(np.asarray(ours), theirs)[1] <= TOLERANCE


@pytest.mark.parametrize(
    ("writer", "module"),
    [
        ("tf.keras-2.12", "keras.engine.functional"),
        ("tf.keras-2.13", "keras.src.engine.functional"),
        ("tf.keras-2.14", "keras.src.engine.functional"),
        ("tf_keras-2.21", "tf_keras.src.engine.functional"),
    ],
)
def test_keras3_copy_names_keras3s_module_for_a_keras2_model_class(writer, module, tmp_path):
    """tf.keras 2.12+ names a model's class by the module it is defined in, which Keras 3
    cannot import (`Could not deserialize class 'Functional'`): the file's own model
    (tf.keras 2.12-2.13) and a nested one (every writer)."""
    path = MATRIX / writer / "nested_shared.keras"
    rewrites = planned_rewrites(path)
    given = f"module {module} given as keras.src.models.functional"
    assert f"nested_shared (Functional): {given}" in rewrites or any(
        r.endswith(given) for r in rewrites
    )
    with pytest.raises(TypeError, match="Functional"):
        keras.saving.load_model(path, compile=False, safe_mode=True)
    assert_gives_the_writers_outputs(keras3_copy(path, tmp_path), path)


def test_keras3_copy_gives_numpy_scalar_settings_as_numbers(tmp_path):
    """tf.keras 2.12 wrote `ReLU(max_value=np.float32(2.0))` as a `__numpy__` object, which
    Keras 3 hands to ReLU as a dict (`'<' not supported between 'dict' and 'float'`)."""
    path = MATRIX / "tf.keras-2.12" / "core.keras"
    rewrites = planned_rewrites(path)
    assert "re_lu (ReLU): max_value given as the number 2.0" in rewrites
    assert_gives_the_writers_outputs(keras3_copy(path, tmp_path), path)


def as_written_with_an_input_layer(source: Path, target: Path) -> None:
    """The tf.keras 2.13 Sequential `.keras` file (Dense ×3, written on Windows) as tf.keras
    2.13 writes `Sequential([Input((122,)), Dense, Dense, Dense])`: without the first
    Dense's `batch_input_shape`, so that no config key needs a rewrite."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == "config.json":
                config = json.loads(data)
                del config["config"]["layers"][1]["config"]["batch_input_shape"]
                data = json.dumps(config).encode()
            new.writestr(info, data)


def test_keras3_copy_moves_a_sequentials_weights_when_no_key_needs_a_rewrite(tmp_path):
    """tf.keras 2.12-2.13 numbered a class's weighted layers with gaps (`dense`, `dense_2`,
    `dense_4`, here joined with backslashes): Keras 3 looks for `dense_1`. The plan asks for
    the copy for that alone, and the copy gives Keras the file's arrays in order."""
    source = WILD / "tfk2_13_1_dense_classifier.keras"
    if not source.is_file():
        pytest.skip("../shared/corpus is not beside the project")
    path = tmp_path / "dense_classifier.keras"
    as_written_with_an_input_layer(source, path)
    rewrites = planned_rewrites(path)
    assert [r.split(" ")[0] for r in rewrites] == ["dense_4", "dense_5", "dense_6"]
    assert all("weights moved to where Keras 3 looks" in r for r in rewrites)
    with pytest.raises(ValueError, match="expected 2 variables, but received 0"):
        keras.saving.load_model(path, compile=False, safe_mode=True)
    model = keras3_copy(path, tmp_path)
    with zipfile.ZipFile(path) as archive, h5py.File(archive.open("model.weights.h5")) as h5:
        groups = [
            h5[f"_layer_checkpoint_dependencies\\{name}"]
            for name in ("dense", "dense_2", "dense_4")
        ]
        stored = [group[f"vars/{i}"][()] for group in groups for i in (0, 1)]
    loaded = model.get_weights()
    assert [w.shape for w in loaded] == [w.shape for w in stored]
    assert all(np.array_equal(a, b) for a, b in zip(loaded, stored, strict=True))


FORMATS = {".h5": "legacy_h5", ".keras": "keras_v3"}


def copy_as_keras3_loads_it(path: Path, folder: Path):
    copy = folder / f"copy{path.suffix}"
    write_keras3_copy(path, FORMATS[path.suffix], copy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return keras.saving.load_model(copy, compile=False, safe_mode=True)


def load_as_written(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return keras.saving.load_model(path, compile=False, safe_mode=True)


@pytest.mark.parametrize(
    "name",
    [
        "tf.keras-2.12/normalization.h5",
        "tf.keras-2.12/normalization.keras",  # weights in tf.keras 2.12's numbered container
        "tf_keras-2.21/normalization.h5",
        "tf_keras-2.21/normalization.keras",  # module keras.layers.experimental
    ],
)
def test_keras3_copy_gives_sync_batchnorm_as_keras3s_batchnorm(name, tmp_path):
    """Keras 3 has no SyncBatchNormalization (`Unknown layer`, or its module cannot be
    imported): BatchNormalization(synchronized=True) is the same layer at inference, its
    weights (in a `.keras`, under Keras 3's `batch_normalization_4`) the file's."""
    path = MATRIX / name
    rewrites = planned_rewrites(path)
    assert (
        "sync_batch_normalization (SyncBatchNormalization): class given as "
        "BatchNormalization(synchronized=True), its Keras 3 name"
    ) in rewrites
    with pytest.raises((ValueError, TypeError)):
        load_as_written(path)
    model = copy_as_keras3_loads_it(path, tmp_path)
    assert model.get_layer("sync_batch_normalization").synchronized is True
    assert_gives_the_writers_outputs(model, path)


@pytest.mark.parametrize("writer", ["keras-3.15.1", "keras-3.0.5"])
def test_keras3_copy_keeps_a_multi_axis_layer_normalization_in_a_legacy_h5(writer, tmp_path):
    """Keras 3's legacy reader drops an `axis` list of several axes (it keeps one-element
    lists and ints): LayerNormalization(axis=[1, 2]) would be rebuilt over the last axis,
    `Shape mismatch ... gamma`, in Keras 3's own `.h5` files too. Given its module, Keras 3
    reads the entry as its own."""
    path = MATRIX / writer / "normalization.h5"
    assert "layer_normalization_1 (LayerNormalization): module given as keras.layers" in (
        planned_rewrites(path)
    )
    with pytest.raises(ValueError, match="Shape mismatch"):
        load_as_written(path)
    assert_gives_the_writers_outputs(copy_as_keras3_loads_it(path, tmp_path), path)


@pytest.mark.parametrize(
    "name",
    [
        "keras-3.15.1/sequence.h5",  # Keras 3's own legacy file: score_mode "dot"
        "tf.keras-2.12/sequence.h5",  # and MultiHeadAttention's `value` by keyword
        "tf.keras-2.15/sequence.keras",  # MultiHeadAttention's Keras 2 build_config
        "tf_keras-2.21/sequence.h5",  # softmax_robust_masking: false
        "tf_keras-2.21/sequence.keras",
    ],
)
def test_keras3_copy_loads_the_attention_layers_a_writer_wrote(name, tmp_path):
    """Keras 3 loads none of these as written: its legacy reader turns Attention's
    `score_mode: "dot"` into the function `keras.layers.dot`; it hands MultiHeadAttention the
    `value` a Keras 2 call passed by keyword as the file's list; it builds it from Keras 2's
    `build_config` (the query's shape alone); it refuses tf_keras 2.21's
    `softmax_robust_masking`. The copy loads, and gives the writer's outputs."""
    path = MATRIX / name
    rewrites = planned_rewrites(path)
    if path.suffix == ".h5":
        assert "attention (Attention): module given as keras.layers" in rewrites
    if name.startswith("tf"):
        assert (
            "multi_head_attention (MultiHeadAttention): call written as Keras 3 writes a call"
            in (rewrites)
        )
    if name.startswith("tf_keras-2.21"):
        assert "multi_head_attention (MultiHeadAttention): softmax_robust_masking=false" in (
            rewrites
        )
    with pytest.raises((TypeError, ValueError)):  # Keras 2's `time_major` comes first
        load_as_written(path)
    assert_gives_the_writers_outputs(copy_as_keras3_loads_it(path, tmp_path), path)


@pytest.mark.parametrize(
    ("name", "removed"),
    [
        (
            "keras-3.5.0/preprocessing.keras",
            "random_rotation (RandomRotation): value_range=[0, 255]",
        ),
        ("tf_keras-2.21/preprocessing.h5", 'random_flip (RandomFlip): rng_type="stateful"'),
    ],
)
def test_keras3_copy_leaves_out_settings_augmentations_never_read_at_inference(
    name, removed, tmp_path
):
    """tf_keras 2.20+ writes each augmentation layer's `rng_type`, Keras 3.0-3.5 a
    RandomRotation `value_range` it never read: Keras 3.15 refuses both. The copy loads and
    gives the writer's outputs (RandomCrop's, last, aside: writers before Keras 3.8 cropped
    at inference, test_writer_matrix holds our reference to that)."""
    path = MATRIX / name
    assert removed in planned_rewrites(path)
    with pytest.raises(TypeError):
        load_as_written(path)
    model = copy_as_keras3_loads_it(path, tmp_path)
    outputs = model.predict(writer_arrays(path, "x")[0], verbose=0)
    expected = writer_arrays(path, "y")
    assert model.layers[-1].__class__.__name__ == "RandomCrop"
    assert len(outputs) == len(expected) == 9
    for ours, theirs in zip(outputs[:-1], expected[:-1], strict=True):
        assert errors(np.asarray(ours), theirs)[1] <= TOLERANCE


@pytest.mark.parametrize(
    ("name", "given"),
    [
        ("keras-3.0.5/keras_ops.h5", "max (Max): module given as keras.src.ops.numpy"),
        ("keras-3.15.1/keras_ops.h5", "add_2 (Add): module given as keras.src.ops.numpy"),
        ("keras-3.15.1/masks.h5", "not_equal (NotEqual): module given as keras.src.ops.numpy"),
    ],
)
def test_keras3_copy_names_the_module_of_operations_in_keras3s_own_h5(name, given, tmp_path):
    """Keras 3 writes a functional model's operations (`keras.ops.abs`, the `not_equal` that
    records Embedding's mask) to legacy HDF5 without their module, and cannot read them back
    (`Unknown layer: 'Absolute'`; `Add` found as the merge layer, called with two tensors).
    Given the module its `.keras` files name, the copy loads and gives the writer's outputs."""
    path = MATRIX / name
    assert given in planned_rewrites(path)
    with pytest.raises((ValueError, TypeError)):
        load_as_written(path)
    assert_gives_the_writers_outputs(copy_as_keras3_loads_it(path, tmp_path), path)


def test_keras3_copy_gives_thresholded_relu_as_keras3s_relu_with_its_threshold(tmp_path):
    """Keras 3 has no ThresholdedReLU (`Unknown layer`): ReLU(threshold=theta) computes
    where(x > theta, x, 0), ThresholdedReLU's x · [x > theta], 2.0 itself giving 0."""
    path = WILD / "tfk2_13_1_thresholded_relu.h5"
    assert any(
        r.startswith("thresholded_re_lu (ThresholdedReLU): class given as ReLU(threshold=2.0)")
        for r in planned_rewrites(path)
    )
    with pytest.raises(ValueError, match="ThresholdedReLU"):
        load_as_written(path)
    model = copy_as_keras3_loads_it(path, tmp_path)
    relu = model.get_layer("thresholded_re_lu")
    assert (relu.threshold, relu.negative_slope, relu.max_value) == (2.0, 0.0, None)
    x = np.linspace(-3, 3, 50, dtype=np.float32).reshape(2, 25)
    x[0, :2] = [2.0, 2.5]
    np.testing.assert_array_equal(model.predict(x, verbose=0), np.where(x > 2, x, 0))
