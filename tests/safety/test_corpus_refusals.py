"""Real files from ../shared/corpus: the two that must never run in Keras are explained and
refused with their reasons; every other one passes the safety scan untouched."""

from __future__ import annotations

import pytest

from app.analysis.resolve import resolve
from app.formats import read_model
from tests.support.kerascompare import totals

CLEAN = [
    "hls4ml_keras_3layer.h5",
    "hls4ml_keras_3layer_batch_norm.h5",
    "hls4ml_jetTagger_Conv2D_small.h5",
    "keras2c_lstm_example.h5",
    "leyuzak_mnist_cnn_bn.keras",
    "spam_gru_model.keras",
    "teachable_machine_waste_keras_model.h5",
    "extras/face_classification_fer2013_big_XCEPTION.54-0.66.hdf5",
    "extras/leyuzak_mnist_cnn_bn_keras3_written.h5",
    "extras/darakcheev00_mask_detector.model",
]


def test_read_carnd_lambda_model_refuses_its_lambda_and_counts_its_weights(corpus):
    with read_model(corpus / "carnd_lambda_model.h5") as loaded:
        refusals = loaded.refusals
        resolve(loaded.graph, weights_in_file=True)
        lam = loaded.graph.layer("lambda_1")
        counted = totals(loaded.graph)
    assert [(r.code, r.class_name, r.path) for r in refusals] == [
        ("lambda-layer", "Lambda", ("lambda_1",))
    ]
    assert refusals[0].reason == "A Lambda layer runs Python code stored in the file (bytecode)."
    assert (lam.known, lam.weights) == (False, [])
    assert counted[0] == 252_219


def test_read_qkeras_model_refuses_every_unknown_layer_and_counts_its_weights(corpus):
    with read_model(corpus / "hls4ml_qkeras-v3_3layer.keras") as loaded:
        refusals = {(r.code, r.class_name, r.path) for r in loaded.refusals}
        resolve(loaded.graph, weights_in_file=True)
        unknown = {(n.class_name, (n.name,)) for _, n in loaded.graph.walk() if not n.known}
        counted = totals(loaded.graph)
    assert {class_name for class_name, _ in unknown} == {"QDense", "QActivation"}
    assert refusals == {("unknown-layer", class_name, path) for class_name, path in unknown}
    assert counted[0] == 4_389


@pytest.mark.parametrize("name", CLEAN)
def test_read_corpus_files_without_code_have_no_refusals(corpus, name):
    with read_model(corpus / name) as loaded:
        assert loaded.refusals == []
