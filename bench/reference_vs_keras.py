"""Time the NumPy reference forward against Keras' warm `predict` on ResNet50.

    /work/main/.venv/bin/python bench/reference_vs_keras.py [--repeats 5]

ResNet50(weights=None), batch 1, 224×224×3, float32. The graph comes from the model's own
config (parsed by app.formats.config into the IR and resolved, as the service does), the
weights from `model.get_weights()` (random init, BN statistics randomized so they are not
0/1). Our side is the service's executor, `app.analysis.reference.run_reference`, in its
lean mode (`keep_all=False`: like `predict`, each tensor is dropped after its last
consumer); the run that keeps every layer's output (what a layer-by-layer comparison needs)
is timed too. Prints the times (best of `--repeats`), the ratios, and the largest
difference between the two outputs. A script, not a test: Keras is used here to provide the
model; app.reference and app.analysis never import it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, uninstalled

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _server import best_of  # noqa: E402

from app.analysis.reference import run_reference  # noqa: E402
from app.analysis.resolve import resolve  # noqa: E402
from app.formats.config import parse_model  # noqa: E402
from app.graph import ModelGraph  # noqa: E402


def randomize_batchnorm(model: keras.Model, seed: int = 0) -> None:
    """Give every BatchNormalization non-trivial gamma/beta/moving statistics."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, n).astype(np.float32),
                    rng.normal(0.0, 0.1, n).astype(np.float32),
                    rng.normal(0.0, 0.1, n).astype(np.float32),
                    rng.uniform(0.5, 2.0, n).astype(np.float32),
                ]
            )


def resolved_graph(model: keras.Model) -> ModelGraph:
    """The model's config as the service reads it: parsed into the IR, shapes and weights
    resolved from the layer registry (get_weights() indices included)."""
    graph = parse_model(json.loads(model.to_json()))
    resolve(graph, weights_in_file=False)
    return graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    model = keras.applications.ResNet50(weights=None)
    randomize_batchnorm(model)
    graph = resolved_graph(model)
    weights = model.get_weights()
    x = np.random.default_rng(1).normal(size=(1, 224, 224, 3)).astype(np.float32)

    def lean():
        return run_reference(graph, weights, [x], keep_all=False)

    def kept():
        return run_reference(graph, weights, [x], keep_all=True)

    expected = model.predict(x, verbose=0)  # warm-up: traces the predict function
    ours = lean().outputs[0]  # warm-up: first touch
    keras_s = best_of(lambda: model.predict(x, verbose=0), args.repeats)
    ours_s = best_of(lean, args.repeats)
    kept_s = best_of(kept, args.repeats)

    print(f"keras predict (warm)              : {keras_s * 1e3:8.1f} ms")
    print(f"numpy reference (lean)            : {ours_s * 1e3:8.1f} ms")
    print(f"numpy reference, all outputs kept : {kept_s * 1e3:8.1f} ms")
    print(f"ratio reference / predict         : {ours_s / keras_s:8.2f}x")
    print(f"ratio, all outputs kept           : {kept_s / keras_s:8.2f}x")
    print(f"max |ours - keras| = {np.abs(ours - expected).max():.3g} (softmax outputs)")
    print_feature_check(model, graph, weights, x)


def print_feature_check(model: keras.Model, graph: ModelGraph, weights: list, x) -> None:
    """Compare the pooled features before the classifier, a less flattened signal."""
    name = "avg_pool"
    features = keras.Model(model.inputs, model.get_layer(name).output).predict(x, verbose=0)
    ours = run_reference(graph, weights, [x]).layers[name][0][0]
    scale = np.abs(features).max()
    print(f"{name}: max |ours - keras| = {np.abs(ours - features).max():.3g} (max |x| {scale:.3g})")


if __name__ == "__main__":
    main()
