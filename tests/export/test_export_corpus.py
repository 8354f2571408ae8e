"""The exported program of every real file Keras 3 loads reproduces what Keras gave for it
(the input and output stored beside each file, ../shared/corpus/README.md and wild/), run in
a fresh interpreter where NumPy is the only package it can import. The program is written as
the check writes it (`tests.support.exported.export_file`); Keras' numbers are the stored
ones, so no Keras runs here. The wild spec without weights (maryamkargar_facialemotionmodel.
json, no numbers stored) is exported with the check's seeded weights (test_export_api.py)."""

from __future__ import annotations

import numpy as np
import pytest

from app.formats import read_model
from app.pairs import combine
from app.safety.limits import DEFAULT_LIMITS
from tests.conftest import CORPUS
from tests.support.exported import (
    export_file,
    foreign_imports,
    largest_relative_difference,
    run_program,
)
from tests.support.wild import WildModel, manifest

TOLERANCE = 1e-4  # the check's default (KEX_CHECK_TOLERANCE)

# corpus/README.md: the files Keras 3.15.1 loads, and where their stored numbers are.
CORPUS_FILES = {
    "hls4ml_keras_3layer.h5": "",
    "hls4ml_keras_3layer_batch_norm.h5": "",
    "hls4ml_jetTagger_Conv2D_small.h5": "",
    "keras2c_lstm_example.h5": "",
    "leyuzak_mnist_cnn_bn.keras": "",
    "spam_gru_model.keras": "",
    "extras/face_classification_fer2013_big_XCEPTION.54-0.66.hdf5": "",
    "extras/leyuzak_mnist_cnn_bn_keras3_written.h5": "",
    # Keras loads it once named .h5; its numbers are tf_keras 2.21's (corpus/README.md).
    "extras/darakcheev00_mask_detector.model": "tf_keras",
    # Keras 3 loads it without the `groups` key it refuses (the check's Keras 3 copy); its
    # numbers are tf_keras 2.21's.
    "teachable_machine_waste_keras_model.h5": "tf_keras",
}


# Over 20 s each here (large images through many convolutions).
SLOW = {
    "k2_1_5_conv3d_autoencoder_lipreading.h5",
    "rkashyap_srgan_generator.keras",
    "zazamrykh_decoder_small.keras",
}


def wild_rows() -> list:
    if not CORPUS.is_dir():
        return []
    rows = [row for folder in ("keras2", "keras3") for row in manifest(folder)]
    return [
        pytest.param(r, id=str(r), marks=[pytest.mark.slow] if r.file in SLOW else [])
        for r in rows
        if r.keras3_loads and r.path.suffix != ".json"
    ]


def checked(folder, tmp_path) -> None:
    assert foreign_imports(folder / "model_forward.py") == set()
    ran = run_program(folder, tmp_path)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert largest_relative_difference(ran.stdout) <= TOLERANCE


@pytest.mark.parametrize("name", sorted(CORPUS_FILES))
def test_export_of_a_corpus_file_reproduces_keras(corpus, tmp_path, name):
    path = corpus / name
    flavour = CORPUS_FILES[name]
    base = path.with_name(".".join(p for p in (path.name.rsplit(".", 1)[0], flavour) if p))
    inputs = [np.load(f"{base}.input.npy")]
    expected = [np.load(f"{base}.output.npy")]
    checked(export_file(path, inputs, expected, tmp_path / "export"), tmp_path)


@pytest.mark.parametrize("row", wild_rows())
def test_export_of_a_wild_file_reproduces_keras(corpus, tmp_path, row):
    stored_input, stored_output = row.stored("input"), row.stored("output")
    if stored_input is None or stored_output is None:
        pytest.skip("no Keras 3 numbers are stored beside this file")
    names = input_names(row)
    if isinstance(stored_input, dict):
        inputs = [stored_input[name] for name in names]
    else:
        inputs = [stored_input]
    expected = outputs_in_order(stored_output)
    checked(export_file(row.path, inputs, expected, tmp_path / "export"), tmp_path)


def input_names(row: WildModel) -> list[str]:
    with read_model(row.path) as loaded:
        return [ref.layer for ref in loaded.graph.inputs]


def outputs_in_order(stored) -> list[np.ndarray]:
    """`output_0..n`, or keyed by output name (Keras orders a dict of outputs by key)."""
    if not isinstance(stored, dict):
        return [stored]
    if all(f"output_{i}" in stored for i in range(len(stored))):
        return [stored[f"output_{i}"] for i in range(len(stored))]
    return [stored[name] for name in sorted(stored)]


def test_export_of_the_wild_spec_with_its_weights_file_reproduces_keras(corpus, tmp_path):
    """The one JSON spec of the corpus saved with its weights (`save_weights`): the model file
    the pair makes (app.pairs, what the service does with both), exported."""
    folder = corpus / "wild" / "keras3"
    stem = "delladeldel_cnn_lstm_model_structure"
    target = tmp_path / "combined.keras"
    spec = (folder / f"{stem}.json").read_text()
    combine(spec, folder / f"{stem}.weights.h5", target, DEFAULT_LIMITS)
    inputs = [np.load(folder / f"{stem}.input.npy")]
    expected = [np.load(folder / f"{stem}.output.npy")]
    checked(export_file(target, inputs, expected, tmp_path / "export"), tmp_path)


def test_export_of_the_wild_thresholded_relu_keeps_x_above_theta(corpus, tmp_path):
    """tf.keras' ThresholdedReLU (theta 2.0; Keras 3 has no such class), on an input across
    the threshold, 2.0 itself included: x where x > 2, else 0, worked out by hand (the stored
    input stays below 2)."""
    folder = corpus / "wild" / "keras2"
    x = 3 * np.load(folder / "tfk2_13_1_thresholded_relu.tf_keras.input.npy")
    x[0, :3] = [2.0, np.nextafter(np.float32(2), np.float32(3)), -2.0]
    expected = np.where(x > 2, x, 0).astype(np.float32)
    path = folder / "tfk2_13_1_thresholded_relu.h5"
    checked(export_file(path, [x], [expected], tmp_path / "export"), tmp_path)
