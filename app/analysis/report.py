"""Assemble a Report from a resolved model: breakdown, BatchNormalization, warnings."""

from __future__ import annotations

from datetime import UTC, datetime

from app.analysis.batchnorm import batchnorm_reports
from app.analysis.breakdown import layer_reports, totals
from app.graph import ModelGraph, TensorRef, shape_json, variable_dtype
from app.schemas import (
    CheckReport,
    InputInfo,
    LayerReport,
    ModelInfo,
    Report,
    Source,
    TensorInfo,
)


def build_report(graph: ModelGraph, source: Source, report_id: str) -> Report:
    layers = layer_reports(graph)
    return Report(
        id=report_id,
        created_at=datetime.now(UTC),
        source=source,
        model=model_info(graph),
        totals=totals(graph),
        layers=layers,
        batchnorm=batchnorm_reports(graph),
        warnings=warnings(graph)
        + changed_meanings(graph, source.keras_version)
        + not_finite(layers),
        check=CheckReport(status="not_run", message="The manual-vs-predict check is not run yet."),
    )


def model_info(graph: ModelGraph) -> ModelInfo:
    return ModelInfo(
        name=graph.name,
        class_name=graph.class_name,
        inputs=[_input_info(graph, ref) for ref in graph.inputs],
        outputs=[_tensor_info(graph, ref) for ref in graph.outputs],
    )


def _tensor_info(graph: ModelGraph, ref: TensorRef) -> TensorInfo:
    node = graph.layer(ref.layer)
    shape = node.output_shapes[ref.node_index] if ref.node_index < len(node.output_shapes) else None
    if isinstance(shape, list) and ref.tensor_index < len(shape):
        shape = shape[ref.tensor_index]
    return TensorInfo(name=ref.layer, shape=shape_json(shape))


def _input_info(graph: ModelGraph, ref: TensorRef) -> InputInfo:
    tensor = _tensor_info(graph, ref)
    dtype = variable_dtype(graph.layer(ref.layer).config)
    return InputInfo(name=tensor.name, shape=tensor.shape, dtype=dtype)


def warnings(graph: ModelGraph) -> list[str]:
    unknown = sorted({n.class_name for _, n in graph.walk() if not n.known})
    found = []
    if unknown:
        found.append(
            f"Unknown layer classes ({', '.join(unknown)}): their stored weights are listed as "
            "found, with generic roles, and counted as trainable."
        )
    for parents, node in graph.walk():
        for note in node.notes:
            found.append(f"{'/'.join((*parents, node.name))}: {note}")
    return found


def not_finite(layers: list[LayerReport]) -> list[str]:
    """One warning naming every weight that holds NaN or ±Inf values, and how many."""
    found = []
    for layer in layers:
        for weight in layer.weights:
            stats = weight.stats
            if stats is not None and (stats.nan or stats.inf):
                where = "/".join((*layer.path, layer.name, weight.name))
                counts = [f"{n:,} {what}" for n, what in ((stats.nan, "NaN"), (stats.inf, "±Inf"))]
                found.append(f"{where}: {', '.join(c for c in counts if not c.startswith('0 '))}")
    if not found:
        return []
    return [
        "Weights holding values that are not finite (their statistics are over the finite "
        "ones; a forward pass through them gives NaN or Inf): " + "; ".join(found) + "."
    ]


# Activations whose formula changed between Keras 2 and Keras 3 (keras/src/activations).
CHANGED_ACTIVATIONS = {
    "hard_sigmoid": "clip(0.2 · x + 0.5, 0, 1) in Keras 2, clip(x / 6 + 0.5, 0, 1) in Keras 3",
}
ACTIVATION_KEYS = ("activation", "recurrent_activation")


def changed_meanings(graph: ModelGraph, keras_version: str | None) -> list[str]:
    """For a file written by Keras 1 or 2: the layers whose activation Keras 3 computes with
    another formula, so Keras 3's predict (and the check) differ from what its writer had."""
    if not keras_version or keras_version.split(".")[0] not in ("1", "2"):
        return []
    found: dict[str, list[str]] = {}
    batch_statistics: list[str] = []
    for parents, node in graph.walk():
        for where, key, name in _activations(node.config, (*parents, node.name)):
            if name in CHANGED_ACTIVATIONS:
                found.setdefault(name, []).append(f"{'/'.join(where)} ({key})")
        if node.class_name == "BatchNormalization" and node.config.get("mode") == 2:
            batch_statistics.append("/".join((*parents, node.name)))
    sentences = [
        f"{name} means {CHANGED_ACTIVATIONS[name]}. This file was written by Keras "
        f"{keras_version}: Keras 3, and this check, compute {', '.join(where)} differently "
        "from what its writer computed; a port should use the Keras 2 formula."
        for name, where in found.items()
    ]
    if batch_statistics:
        sentences.append(
            f"BatchNormalization mode=2 (Keras 1): {', '.join(batch_statistics)} normalized "
            "with the statistics of each batch, at inference too, and never updated its "
            "moving statistics. Keras 2 and 3, and this check, use the moving statistics "
            "at inference: they do not compute what the writer computed."
        )
    return sentences


def _activations(config: dict, where: tuple[str, ...]):
    """(path, key, activation) of a layer's config and of the layers a wrapper holds in it
    (Bidirectional's `layer` and `backward_layer`, TimeDistributed's `layer`, an RNN's
    `cell`), so a wrapped layer is warned of as at top level."""
    for key in ACTIVATION_KEYS:
        if isinstance(config.get(key), str):
            yield where, key, config[key]
    for value in config.values():
        inner = value.get("config") if isinstance(value, dict) else None
        if isinstance(inner, dict) and isinstance(value.get("class_name"), str):
            yield from _activations(inner, (*where, str(inner.get("name", value["class_name"]))))
