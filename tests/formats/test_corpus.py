"""Real files from ../shared/corpus (see its README): our reading against Keras 3 loading them,
and, for files Keras 3 refuses, against the totals the README records from Keras 2."""

from __future__ import annotations

import shutil

import pytest

from app.formats import read_model
from app.layers.registry import lookup
from tests.support.kerascompare import assert_weights_match_keras, resolved, totals
from tests.support.kerasref import keras

LOADABLE = [
    "hls4ml_keras_3layer.h5",
    "hls4ml_keras_3layer_batch_norm.h5",
    "hls4ml_jetTagger_Conv2D_small.h5",
    "keras2c_lstm_example.h5",
    "leyuzak_mnist_cnn_bn.keras",
    "spam_gru_model.keras",
    "extras/face_classification_fer2013_big_XCEPTION.54-0.66.hdf5",
    "extras/leyuzak_mnist_cnn_bn_keras3_written.h5",
    "extras/darakcheev00_mask_detector.model",
]
FORMATS = {".keras": "keras_v3", ".h5": "legacy_h5", ".hdf5": "legacy_h5", ".model": "legacy_h5"}


def keras_reference(path, tmp_path):
    """Keras 3 loads by extension: the `.model` file's bytes go to it under a `.h5` name."""
    if path.suffix == ".model":
        renamed = tmp_path / (path.stem + ".h5")
        shutil.copyfile(path, renamed)
        path = renamed
    return keras.saving.load_model(path, compile=False)


@pytest.mark.parametrize("name", LOADABLE)
def test_read_corpus_file_matches_keras(corpus, tmp_path, name):
    path = corpus / name
    model = keras_reference(path, tmp_path)
    with read_model(path) as loaded:
        assert loaded.format == FORMATS[path.suffix]
        assert_weights_match_keras(resolved(loaded), model, values=True)


def test_read_teachable_machine_matches_readme_totals(corpus):
    with read_model(corpus / "teachable_machine_waste_keras_model.h5") as loaded:
        assert loaded.keras_version == "2.4.0"
        assert totals(resolved(loaded)) == (538_708, 538_708 - 14_080, 14_080)


def test_read_teachable_machine_gives_nested_bn_its_four_arrays_in_order(corpus):
    with read_model(corpus / "teachable_machine_waste_keras_model.h5") as loaded:
        bns = [n for _, n in loaded.graph.walk() if n.class_name == "BatchNormalization"]
        assert len(bns) == 52
        for node in bns:
            assert [s.name for s in node.stored] == [
                f"{node.name}/{v}:0" for v in ("gamma", "beta", "moving_mean", "moving_variance")
            ]


def test_read_carnd_lambda_model_without_executing_it(corpus):
    assert lookup("Lambda") is None
    with read_model(corpus / "carnd_lambda_model.h5") as loaded:
        graph = resolved(loaded)
        lam = graph.layer("lambda_1")
        assert (lam.class_name, lam.known, lam.weights) == ("Lambda", False, [])
        assert totals(graph)[0] == 252_219


def test_read_qkeras_unknown_classes_keep_their_arrays(corpus):
    with read_model(corpus / "hls4ml_qkeras-v3_3layer.keras") as loaded:
        qdense = [n for _, n in loaded.graph.walk() if n.class_name == "QDense"]
        assert [[s.path for s in n.stored] for n in qdense] == [
            [f"layers/{group}/vars/0", f"layers/{group}/vars/1"]
            for group in ("q_dense", "q_dense_1", "q_dense_2", "q_dense_3")
        ]
        graph = resolved(loaded)
        assert not any(n.known for n in qdense)
        assert totals(graph)[0] == 4_389


def test_read_leyuzak_keras_maps_renamed_batchnorms_by_class(corpus):
    with read_model(corpus / "leyuzak_mnist_cnn_bn.keras") as loaded:
        stored = {n.name: n.stored for _, n in loaded.graph.walk()}
    for i in range(5):
        group = "batch_normalization" + (f"_{i}" if i else "")
        paths = [s.path for s in stored[f"batch_normalization_{i + 5}"]]
        assert paths == [f"layers/{group}/vars/{v}" for v in range(4)]


def test_read_mask_detector_from_bytes_despite_model_name(corpus):
    with read_model(corpus / "extras/darakcheev00_mask_detector.model") as loaded:
        assert (loaded.format, loaded.keras_version) == ("legacy_h5", "2.4.0")
        assert totals(resolved(loaded))[0] == 82_049
