"""Time the NumPy reference forward against Keras' warm `predict` on ResNet50.

    /work/main/.venv/bin/python bench/reference_vs_keras.py [--repeats 5]

ResNet50(weights=None), batch 1, 224×224×3, float32. The graph comes from the model's own
config (parsed by app.formats.config into the IR, as the service does), the weights from the
Keras layers (random init, BN statistics randomized so they are not 0/1). Our side walks
the layers in `keras_layers()` order feeding each one its input arrays through
`app.reference.run_layer`. Like `predict`, our executor drops each tensor after its
last consumer; the run that keeps every layer's output (what a layer-by-layer comparison
needs) is timed too. Prints the times (best of `--repeats`), the ratios, and the largest
difference between the two outputs. A script, not a test: Keras is used here to
provide the model; app.reference itself never imports it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, uninstalled

import keras  # noqa: E402
import numpy as np  # noqa: E402

from app.formats.config import parse_model  # noqa: E402
from app.graph import ModelGraph  # noqa: E402
from app.reference import run_layer  # noqa: E402

Key = tuple[str, int, int]


def layer_weights(model: keras.Model) -> dict[str, dict[str, np.ndarray]]:
    """Each layer's weights by Keras name, as NumPy arrays."""
    return {
        layer.name: {w.path.rsplit("/", 1)[-1]: np.asarray(w.numpy()) for w in layer.weights}
        for layer in model.layers
    }


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


def _key(ref) -> Key:
    return (ref.layer, ref.node_index, ref.tensor_index)


def reference_forward(
    graph: ModelGraph, weights: dict, x: np.ndarray, keep: bool = False
) -> dict[Key, np.ndarray]:
    """Run the graph layer by layer with the NumPy reference.

    Like `predict`, each tensor is dropped after its last consumer unless `keep` (what a
    layer-by-layer comparison needs: every output kept). Returns the tensors still held,
    the model's outputs among them.
    """
    order = [node for node in graph.keras_layers() if node.class_name != "InputLayer"]
    pending = Counter(_key(r) for node in order for refs in node.calls for r in refs)
    pending.update(_key(r) for r in graph.outputs)
    values: dict[Key, np.ndarray] = {_key(r): x for r in graph.inputs}
    for node in order:
        for index, refs in enumerate(node.calls):
            inputs = [values[_key(r)] for r in refs]
            values[(node.name, index, 0)] = run_layer(
                node.class_name, node.config, weights[node.name], inputs
            )
            for r in refs:
                pending[_key(r)] -= 1
                if not keep and pending[_key(r)] == 0:
                    del values[_key(r)]
    return values


def output(graph: ModelGraph, values: dict[Key, np.ndarray]) -> np.ndarray:
    return values[_key(graph.outputs[0])]


def best_time(fn, repeats: int) -> float:
    """Best wall time of `repeats` calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    model = keras.applications.ResNet50(weights=None)
    randomize_batchnorm(model)
    graph = parse_model(json.loads(model.to_json()))
    weights = layer_weights(model)
    x = np.random.default_rng(1).normal(size=(1, 224, 224, 3)).astype(np.float32)

    expected = model.predict(x, verbose=0)  # warm-up: traces the predict function
    ours = output(graph, reference_forward(graph, weights, x))  # warm-up: first touch
    keras_s = best_time(lambda: model.predict(x, verbose=0), args.repeats)
    ours_s = best_time(lambda: reference_forward(graph, weights, x), args.repeats)
    kept_s = best_time(lambda: reference_forward(graph, weights, x, keep=True), args.repeats)

    print(f"keras predict (warm)              : {keras_s * 1e3:8.1f} ms")
    print(f"numpy reference                   : {ours_s * 1e3:8.1f} ms")
    print(f"numpy reference, all outputs kept : {kept_s * 1e3:8.1f} ms")
    print(f"ratio reference / predict         : {ours_s / keras_s:8.2f}x")
    print(f"ratio, all outputs kept           : {kept_s / keras_s:8.2f}x")
    print(f"max |ours - keras| = {np.abs(ours - expected).max():.3g} (softmax outputs)")
    print_feature_check(model, graph, weights, x)


def print_feature_check(model: keras.Model, graph: ModelGraph, weights: dict, x) -> None:
    """Compare the pooled features before the classifier, a less flattened signal."""
    name = "avg_pool"
    features = keras.Model(model.inputs, model.get_layer(name).output).predict(x, verbose=0)
    ours = reference_forward(graph, weights, x, keep=True)[(name, 0, 0)]
    scale = np.abs(features).max()
    print(f"{name}: max |ours - keras| = {np.abs(ours - features).max():.3g} (max |x| {scale:.3g})")


if __name__ == "__main__":
    main()
