"""Time the diagnosis's search over the catalogue on ResNet50.

    .venv/bin/python bench/diagnosis_search.py

ResNet50(weights=None), batch 2, 224×224×3, BatchNormalization statistics randomized (as
bench/reference_vs_keras.py). Three users' numbers, each made here in NumPy by running the
reference with one layer's forward swapped for a hand-written mistaken one:

    local      their output of `conv1_bn` computed with batch statistics, given by name:
               the search replays that layer's mistakes on it alone
    model-wide only the model's output, every BatchNormalization with batch statistics:
               one model run per form of each mistake of each class in the model
    keras      Keras' numbers (our reference's): "matches Keras", no search

Prints each diagnosis's verdict, top mistake, forms replayed and time.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, uninstalled

import keras  # noqa: E402
import numpy as np  # noqa: E402
from reference_vs_keras import randomize_batchnorm, resolved_graph  # noqa: E402

from app.analysis.reference import run_reference  # noqa: E402
from app.diagnosis.search import diagnose  # noqa: E402


def batch_statistics(config, weights, inputs, training):
    """BatchNormalization with the batch's statistics, written here on its own."""
    x = inputs[0].astype(np.float64)
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    out = (x - mean) / np.sqrt(var + config["epsilon"]) * weights["gamma"] + weights["beta"]
    return out.astype(np.float32)


def timed(label, graph, weights, x, theirs) -> None:
    start = time.perf_counter()
    found = diagnose(graph, weights, [x], theirs)
    elapsed = time.perf_counter() - start
    top = found.mistakes[0].code if found.mistakes else "-"
    print(
        f"{label:11s} {found.verdict:14s} top {top:28s} {found.searched:3d} forms {elapsed:6.1f} s"
    )


def main() -> None:
    keras.utils.set_random_seed(0)
    model = keras.applications.ResNet50(weights=None)
    randomize_batchnorm(model)
    graph, weights = resolved_graph(model), model.get_weights()
    x = np.random.default_rng(1).normal(size=(2, 224, 224, 3)).astype(np.float32)
    bns = [n.name for n in graph.layers if n.class_name == "BatchNormalization"]

    one = run_reference(graph, weights, [x], replaced={"conv1_bn": batch_statistics})
    timed("local", graph, weights, x, {"conv1_bn": one.layers["conv1_bn"][0][0]})
    every = run_reference(graph, weights, [x], replaced=dict.fromkeys(bns, batch_statistics))
    timed("model-wide", graph, weights, x, {"predictions": every.outputs[0]})
    keras_like = run_reference(graph, weights, [x], keep_all=False).outputs[0]
    timed("keras", graph, weights, x, {"predictions": keras_like})


if __name__ == "__main__":
    main()
