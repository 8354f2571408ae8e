"""Comparing two files of models built here: which layers and weights changed, and why.

The expected numbers come from Keras (the weights it holds) and NumPy, never from the code
under test.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")

from tests.compare.models import backbone_and_head, compare, data, fit, layer  # noqa: E402
from tests.support.files import as_keras2_file  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(7)


def test_compare_head_fine_tuned_only_head_weights_differ(tmp_path):
    model, backbone = backbone_and_head(keras)
    fit(model)
    model.save(tmp_path / "a.keras")
    backbone.trainable = False  # the Keras 3 way: its BatchNormalization runs in inference mode
    fit(model)
    model.save(tmp_path / "b.keras")

    comparison = compare(tmp_path / "a.keras", tmp_path / "b.keras")

    assert comparison.verdict == "weights-differ"  # `trainable` is training state
    assert [d.b.name for d in comparison.layers if d.weights_status == "changed"] == ["head"]
    frozen = layer(comparison, "backbone")
    assert [(c.key, c.a, c.b) for c in frozen.config] == [("trainable", True, False)]
    assert layer(comparison, "features").weights_status == "equal"
    assert layer(comparison, "bn").weights_status == "equal"
    [bn] = comparison.batchnorm
    assert (bn.layer, bn.finding) == ("bn", "nothing-moved")
    assert bn.moved == dict.fromkeys(("gamma", "beta", "moving_mean", "moving_variance"), False)


def test_compare_head_relative_change_is_keras_weights_by_hand(tmp_path):
    model, _ = backbone_and_head(keras)
    model.save(tmp_path / "a.keras")
    before = model.get_layer("head").kernel.numpy().copy()
    fit(model)
    model.save(tmp_path / "b.keras")
    after = model.get_layer("head").kernel.numpy()

    [kernel] = [
        w
        for w in layer(compare(tmp_path / "a.keras", tmp_path / "b.keras"), "head").weights
        if w.role == "kernel"
    ]

    # b − a is taken in float32 (within half an ulp of the float64 difference)
    delta = after.astype(np.float64) - before
    assert kernel.max_abs_change == pytest.approx(np.abs(delta).max(), rel=1e-6)
    expected = np.linalg.norm(delta) / np.linalg.norm(before.astype(np.float64))
    assert kernel.relative_change == pytest.approx(expected, rel=1e-6)
    assert kernel.bit_equal is False and kernel.status == "changed"


def test_compare_gamma_beta_moved_statistics_not_is_inference_mode(tmp_path):
    """What an optimizer does to a BatchNormalization that runs in inference mode while it
    trains (called with training=False): gamma and beta move, the statistics do not. The
    finding depends only on which arrays moved, so they are moved here directly."""
    model, _ = backbone_and_head(keras)
    model.save(tmp_path / "a.keras")
    bn = model.get_layer("backbone").get_layer("bn")
    bn.gamma.assign(bn.gamma.numpy() * 1.1)
    bn.beta.assign(bn.beta.numpy() + 0.05)
    model.save(tmp_path / "b.keras")

    [finding] = compare(tmp_path / "a.keras", tmp_path / "b.keras").batchnorm

    assert finding.finding == "inference-mode"
    assert finding.moved == {
        "gamma": True,
        "beta": True,
        "moving_mean": False,
        "moving_variance": False,
    }


def test_compare_frozen_layer_that_updated_statistics_is_the_keras2_trap(tmp_path):
    """What Keras 2.0-2.2 did to a frozen BatchNormalization: forward passes in training mode
    updated its moving statistics, the optimizer left gamma and beta alone. Reproduced with
    training-mode calls and no optimizer step: only the statistics move."""
    model, _ = backbone_and_head(keras)
    model.save(tmp_path / "a.keras")
    x, _ = data()
    for _ in range(5):
        model(x, training=True)
    model.save(tmp_path / "b.keras")

    comparison = compare(tmp_path / "a.keras", tmp_path / "b.keras")

    [bn] = comparison.batchnorm
    assert bn.finding == "statistics-while-frozen"
    assert bn.moved == {"gamma": False, "beta": False, "moving_mean": True, "moving_variance": True}
    assert "Keras 2" in bn.message
    assert [d.b.name for d in comparison.layers if d.weights_status == "changed"] == ["bn"]


def test_compare_rebuilt_model_matches_regenerated_names_by_position(tmp_path):
    def build():
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(5), keras.layers.Dense(2)])

    a, b = build(), build()  # Keras names b's layers dense_2, dense_3
    b.set_weights(a.get_weights())
    a.save(tmp_path / "a.keras")
    b.save(tmp_path / "b.keras")
    names_a = [x.name for x in a.layers]
    names_b = [x.name for x in b.layers]
    assert names_a != names_b

    comparison = compare(tmp_path / "a.keras", tmp_path / "b.keras")

    pairs = [(d.a.name, d.b.name, d.status, d.matched_by) for d in comparison.layers]
    assert pairs == [(x, y, "renamed", "position") for x, y in zip(names_a, names_b, strict=True)]
    assert all(d.weights_status == "equal" for d in comparison.layers)
    assert comparison.verdict == "architecture-differs"
    assert comparison.counts.renamed == 2


def test_compare_layer_added_between_named_layers(tmp_path):
    def build(extra: bool):
        inputs = keras.Input((4,), name="x")
        h = keras.layers.Dense(5, name="first")(inputs)
        if extra:
            h = keras.layers.Dense(5, name="extra")(h)
        return keras.Model(inputs, keras.layers.Dense(2, name="last")(h))

    a, b = build(False), build(True)
    b.get_layer("first").set_weights(a.get_layer("first").get_weights())
    b.get_layer("last").set_weights(a.get_layer("last").get_weights())
    a.save(tmp_path / "a.keras")
    b.save(tmp_path / "b.keras")

    comparison = compare(tmp_path / "a.keras", tmp_path / "b.keras")

    rows = [(d.status, (d.b or d.a).name) for d in comparison.layers]
    assert ("added", "extra") in rows
    assert comparison.counts.added == 1 and comparison.counts.removed == 0
    assert layer(comparison, "first").status == "unchanged"
    assert layer(comparison, "last").weights_status == "equal"
    assert comparison.delta.params == 5 * 5 + 5  # the extra Dense: kernel 5 × 5 + bias 5
    assert comparison.delta.layers == 1


def test_compare_activation_changed_lists_the_key_old_to_new(tmp_path):
    def build(activation: str):
        inputs = keras.Input((4,), name="x")
        return keras.Model(inputs, keras.layers.Dense(3, activation=activation, name="d")(inputs))

    a, b = build("relu"), build("tanh")
    b.set_weights(a.get_weights())
    a.save(tmp_path / "a.keras")
    b.save(tmp_path / "b.keras")

    diff = layer(compare(tmp_path / "a.keras", tmp_path / "b.keras"), "d")

    assert diff.status == "changed"
    assert [(c.key, c.a, c.b) for c in diff.config] == [("activation", "relu", "tanh")]
    assert diff.weights_status == "equal"


def test_compare_keras3_file_resaved_as_h5_is_identical(tmp_path):
    model, _ = backbone_and_head(keras)
    fit(model, epochs=1)
    model.save(tmp_path / "a.keras")
    keras.saving.load_model(tmp_path / "a.keras").save(tmp_path / "b.h5")

    comparison = compare(tmp_path / "a.keras", tmp_path / "b.h5", isolated=True)

    assert comparison.verdict == "identical"
    assert (comparison.a.source.format, comparison.b.source.format) == ("keras_v3", "legacy_h5")
    assert comparison.delta.params == 0 and comparison.batchnorm == []


def test_compare_corpus_keras_and_its_keras3_h5_are_equal(corpus):
    a = corpus / "leyuzak_mnist_cnn_bn.keras"
    b = corpus / "extras" / "leyuzak_mnist_cnn_bn_keras3_written.h5"

    comparison = compare(a, b, isolated=True)

    assert comparison.verdict == "identical"
    assert comparison.a.source.format == "keras_v3" and comparison.b.source.format == "legacy_h5"
    assert comparison.a.source.keras_version == comparison.b.source.keras_version == "3.10.0"
    assert comparison.a.totals.params == comparison.b.totals.params == 331_754
    assert all(d.weights_status == "equal" for d in comparison.layers if d.weights)


def test_compare_keras2_hard_sigmoid_against_keras3_is_flagged(tmp_path):
    inputs = keras.Input((4,), name="x")
    model = keras.Model(
        inputs, keras.layers.Dense(3, activation="hard_sigmoid", name="gate")(inputs)
    )
    model.save(tmp_path / "b.keras")
    as_keras2_file(model, tmp_path / "a.h5", lambda layer: None)  # keras_version 2.4.0

    comparison = compare(tmp_path / "a.h5", tmp_path / "b.keras")

    assert comparison.a.source.keras_version == "2.4.0"
    assert comparison.verdict == "identical"  # same config and weights: the formulas differ
    assert any("gate" in d and "hard_sigmoid" in d and "2.4.0" in d for d in comparison.drifts)


def test_compare_configs_ignore_writer_spellings(tmp_path):
    """A tf.keras 2 spelling of the same Dense (dtype as a string, no module keys) is no change."""
    inputs = keras.Input((4,), name="x")
    model = keras.Model(inputs, keras.layers.Dense(3, name="d")(inputs))
    model.save(tmp_path / "b.keras")

    def keras2(layer):
        config = layer["config"]
        config["dtype"] = "float32"
        config.pop("quantization_config", None)
        for key in ("kernel_initializer", "bias_initializer"):
            if key in config:
                config[key].pop("module", None)
                config[key].pop("registered_name", None)

    as_keras2_file(model, tmp_path / "a.h5", keras2)

    assert layer(compare(tmp_path / "a.h5", tmp_path / "b.keras"), "d").config == []


def test_compare_spec_files_match_shifted_names_by_position(tmp_path):
    """a: dense, dense_1; b (the same model built again): dense_1, dense_2. By name, dense_1
    would pair the wrong layers; by position every layer pairs."""

    def spec(names):
        layers = [{"class_name": "InputLayer", "config": {"name": "x", "batch_shape": [None, 4]}}]
        layers += [{"class_name": "Dense", "config": {"name": n, "units": 4}} for n in names]
        return {"class_name": "Sequential", "config": {"name": "s", "layers": layers}}

    (tmp_path / "a.json").write_text(json.dumps(spec(["dense", "dense_1"])))
    (tmp_path / "b.json").write_text(json.dumps(spec(["dense_1", "dense_2"])))

    comparison = compare(tmp_path / "a.json", tmp_path / "b.json")

    pairs = [(d.a.name, d.b.name, d.matched_by) for d in comparison.layers]
    assert pairs == [("dense", "dense_1", "position"), ("dense_1", "dense_2", "position")]
    assert all(d.weights_status == "not-stored" for d in comparison.layers)


WRITERS = Path(__file__).resolve().parents[1] / "writers" / "files"


@pytest.mark.parametrize(
    "writer", ["tf.keras-2.12", "tf_keras-2.21", "keras-3.0.5", "keras-3.15.1"]
)
def test_compare_writer_matrix_h5_and_keras_of_one_writer_are_identical(writer):
    comparison = compare(WRITERS / writer / "convlstm.h5", WRITERS / writer / "convlstm.keras")

    assert comparison.verdict == "identical"


def test_compare_writer_matrix_keras2_against_keras3_shows_only_the_real_changes():
    """The same ConvLSTM battery written by tf.keras 2.12 and Keras 3.15: their configs are
    spelled differently throughout; what differs is the recurrent_activation default
    (hard_sigmoid in Keras 2, sigmoid in Keras 3) of the two layers that kept it."""
    comparison = compare(
        WRITERS / "tf.keras-2.12" / "convlstm.h5", WRITERS / "keras-3.15.1" / "convlstm.keras"
    )

    changed = {(d.b.name, c.key, c.a, c.b) for d in comparison.layers for c in d.config}
    assert changed == {
        ("conv_lstm1d", "recurrent_activation", "hard_sigmoid", "sigmoid"),
        ("conv_lstm3d", "recurrent_activation", "hard_sigmoid", "sigmoid"),
    }
    assert [d.status for d in comparison.layers].count("changed") == 2
    assert comparison.counts.added == comparison.counts.removed == 0
