"""No false "looks untrained" on the corpus: every model file in ../shared/corpus (the wild
ones with their MANIFEST.md included) is explained, and the only kernels found untrained are
the ones listed here, each with the evidence, from the file itself, that it never trained."""

from __future__ import annotations

from dataclasses import replace

import h5py
import numpy as np
import pytest

from app.explain import explain_file
from app.safety.limits import DEFAULT_LIMITS

MODEL_SUFFIXES = (".h5", ".hdf5", ".hd5", ".keras", ".model")
READ_HERE = replace(DEFAULT_LIMITS, isolate_hdf5=False)  # our own corpus: read in-process

# Each with why it is right. Keras numbers a layer it creates after the last of its class:
# a layer named after layers the file does not hold is a new object, built after the
# trained model (an inference or extraction model that re-created it instead of reusing it).
UNTRAINED = {
    # Saved before fitting: every kernel tested, and its LSTM biases are exactly Keras'
    # unit_forget_bias start (checked below with h5py).
    "wild/keras2/tfk2_8_0_custom_l1dist_lstm.h5": {
        "LSTM_layer_1_input/lstm_cell/kernel",
        "LSTM_layer_1_validation/lstm_cell/kernel",
        "LSTM_layer_2_input/lstm_cell/kernel",
        "LSTM_layer_2_validation/lstm_cell/kernel",
        "Dense_layer_input/kernel",
        "Dense_layer_validation/kernel",
        "LSTM_layer_3/kernel",
        "classification_layer/kernel",
    },
    # The head after the custom TransformerBlocks: its bias is all 0 (its zeros start).
    "wild/keras3/glbn333_pfam_transformer_custom.keras": {"dense_8/kernel"},
    # An inference decoder: lstm_1 and dense are the trained model's (not flagged), while
    # embedding_2 is a third Embedding, made for this model (the training decoder's was
    # embedding_1).
    "wild/keras3/haripriya_seq2seq_decoder_model.keras": {"embedding_2/embeddings"},
    # Layers embedding_3..5, flatten_3..5, concatenate_1: a second model of new layers, built
    # after the trained one; its Location embedding (130 values) is too small to test.
    "wild/keras3/kitnapat_embedding_model.keras": {
        "embedding_4/embeddings",
        "embedding_5/embeddings",
    },
}


def model_files(corpus):
    return sorted(
        p
        for p in corpus.rglob("*")
        if p.suffix in MODEL_SUFFIXES and "inspection" not in p.parts and p.is_file()
    )


@pytest.mark.slow
def test_no_kernel_of_the_corpus_looks_untrained_but_those_listed(corpus):
    found, explained = {}, 0
    for path in model_files(corpus):
        try:
            report = explain_file(path, limits=READ_HERE).report
        except Exception as exc:  # a weights-only file, a refusal: not this test's business
            assert getattr(exc, "code", None), f"{path.name}: {exc!r}"
            continue
        explained += 1
        flagged = {
            "/".join((*f.path, f.layer, f.weight or ""))
            for f in report.findings
            if f.code == "looks-untrained"
        }
        if flagged:
            found[str(path.relative_to(corpus))] = flagged
    assert explained >= 65  # 69 today; the rest are weights-only files
    assert found == UNTRAINED


def test_the_siamese_lstm_biases_are_their_unit_forget_bias_start(corpus):
    """The evidence for the first entry, read with h5py: [0]·u, [1]·u, [0]·2u per LSTM."""
    path = corpus / "wild/keras2/tfk2_8_0_custom_l1dist_lstm.h5"
    biases = []
    with h5py.File(path, "r") as f:
        f["model_weights"].visit(lambda name: biases.append(name) if "bias" in name else None)
        lstm = [np.asarray(f["model_weights"][b]) for b in biases if "lstm_cell" in b]
        assert len(lstm) >= 5
        for bias in lstm:
            u = bias.size // 4
            expected = np.concatenate([np.zeros(u), np.ones(u), np.zeros(2 * u)])
            assert np.array_equal(bias, expected)
