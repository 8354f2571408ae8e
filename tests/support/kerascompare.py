"""Compare a resolved `ModelGraph`'s weights with the Keras model it was read from (tests only)."""

from __future__ import annotations

import numpy as np

from app.analysis.resolve import resolve
from app.formats import LoadedModel
from app.graph import ModelGraph, WeightRef
from app.layers.registry import lookup


def resolved(loaded: LoadedModel) -> ModelGraph:
    resolve(loaded.graph, weights_in_file=loaded.format != "spec_json")
    return loaded.graph


def weights_in_order(graph: ModelGraph) -> list[WeightRef]:
    """Every weight, in the order of its `get_weights()` index."""
    found = [w for _, node in graph.walk() for w in node.weights]
    return sorted(found, key=lambda w: w.index)


def keras_facts(model) -> list[tuple[tuple[int, ...], bool]]:
    """(shape, trainable) of each of `model.weights`, in `get_weights()` order."""
    trainable = {id(v) for v in model.trainable_weights}
    return [(tuple(v.shape), id(v) in trainable) for v in model.weights]


def our_facts(graph: ModelGraph) -> list[tuple[tuple[int, ...], bool]]:
    return [(tuple(w.shape), w.trainable) for w in weights_in_order(graph)]


def totals(graph: ModelGraph) -> tuple[int, int, int]:
    """(total, trainable, non-trainable) parameter counts."""
    weights = weights_in_order(graph)
    total = sum(w.count for w in weights)
    trainable = sum(w.count for w in weights if w.trainable)
    return total, trainable, total - trainable


def keras_totals(model) -> tuple[int, int, int]:
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    return model.count_params(), trainable, model.count_params() - trainable


def assert_weights_match_keras(graph: ModelGraph, model, *, values: bool) -> None:
    """Shapes, trainability, indices and totals equal Keras'; values too when the file has them."""
    weights = weights_in_order(graph)
    assert [w.index for w in weights] == list(range(len(model.weights)))
    assert our_facts(graph) == keras_facts(model)
    assert totals(graph) == keras_totals(model)
    if values:
        for weight, reference in zip(weights, model.get_weights(), strict=True):
            assert weight.values is not None, weight.name
            np.testing.assert_array_equal(np.asarray(weight.values[()]), reference)
    else:
        assert all(w.values is None for w in weights)


def registry_facts(class_name: str, config: dict, input_shapes: list) -> dict:
    """What the registry entry of `class_name` says of a layer, in `kerasref.layer_facts`' form:
    {"weights": [(name, shape, trainable), ...] in creation order, "output_shape": ...}."""
    entry = lookup(class_name)
    assert entry is not None, class_name
    specs = entry.weights(config, input_shapes)
    return {
        "weights": [(s.name, tuple(s.shape), s.trainable) for s in specs],
        "output_shape": entry.output_shape(config, input_shapes),
    }
