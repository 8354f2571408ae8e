"""No mistake of the catalogue is ever claimed on Keras' own outputs: over every corpus file
with a stored input and the output Keras 3.15.1 gave for it (one input, one output), the
diagnosis of those very numbers names no mistake (it says they match Keras, or, where our
reference and Keras part, that nothing explains them).

They match Keras, so the search would not run: the second test forces it (a tolerance of
0 makes float32 noise a parting), so that every entry of the catalogue for the model's
classes is replayed (conv-channels-order on each convolution, the recurrent ones on each
GRU and LSTM, ...), model-wide, and none may reproduce Keras' numbers. The mistakes that
change a shape (rnn-return-sequences) are searched only for an array of another shape
than Keras', so Keras' own never meet them."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.reference import materialize_weights
from app.analysis.resolve import resolve
from app.diagnosis.search import diagnose
from app.formats import read_model
from tests.conftest import CORPUS

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


def corpus_cases() -> list:
    if not CORPUS.is_dir():
        return []
    folders = [CORPUS, CORPUS / "extras", CORPUS / "wild" / "keras3"]
    found = []
    for folder in folders:
        for path in sorted(folder.iterdir()):
            stem = path.name.removesuffix(path.suffix)
            pair = folder / f"{stem}.input.npy", folder / f"{stem}.output.npy"
            if path.suffix in MODEL_SUFFIXES and all(p.is_file() for p in pair):
                found.append(pytest.param(path, *pair, id=str(path.relative_to(CORPUS))))
    return found


def read(path):
    with read_model(path) as loaded:
        graph = loaded.graph
        resolve(graph, weights_in_file=True)
        weights = materialize_weights(graph)
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        pytest.skip("several inputs or outputs")
    return graph, weights


@pytest.mark.slow
@pytest.mark.parametrize(("path", "inputs", "outputs"), corpus_cases())
def test_keras_own_outputs_claim_no_mistake(corpus, path, inputs, outputs):
    x, keras_output = np.load(inputs), np.load(outputs)
    graph, weights = read(path)
    name = graph.outputs[0].layer
    diagnosis = diagnose(graph, weights, [x], {name: keras_output})
    assert diagnosis.mistakes == [], diagnosis.mistakes[0].code


@pytest.mark.slow
@pytest.mark.parametrize(("path", "inputs", "outputs"), corpus_cases())
def test_forced_search_on_keras_own_outputs_claims_no_mistake(corpus, path, inputs, outputs):
    x, keras_output = np.load(inputs), np.load(outputs)
    graph, weights = read(path)
    name = graph.outputs[0].layer
    diagnosis = diagnose(graph, weights, [x], {name: keras_output}, tolerance=0.0, max_search_s=20)
    assert diagnosis.verdict == "unexplained"  # the search ran, and found nothing
    assert diagnosis.mistakes == [], diagnosis.mistakes[0].code
