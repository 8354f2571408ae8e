"""Assemble a Report from a resolved model: breakdown, BatchNormalization, warnings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from app.analysis.batchnorm import CHANNELS_LISTED, batchnorm_reports
from app.analysis.breakdown import layer_reports, totals
from app.analysis.costs import ModelCosts, model_costs
from app.analysis.forward import reference_code
from app.analysis.health import Scans, health_findings, weight_scans
from app.analysis.writer_semantics import writer_semantics
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


def build_report(
    graph: ModelGraph,
    source: Source,
    report_id: str,
    unknown_dims: Mapping[str, int] | None = None,
    brief: bool = False,
    costs: ModelCosts | None = None,
    scans: Callable[[], Scans] | None = None,
) -> Report:
    """`unknown_dims`: the size costs count each input's unknown dimensions at (by input
    name, or "*" for every input), when not the default; `costs`: `model_costs` at those
    sizes, when the caller has them already. `brief`: without what only a page or the JSON
    shows, not the terminal's tables (`inspect` without --json or --code): no
    BatchNormalization channel's values listed, no reference code (ResNet50: 1.0 of its
    1.7 MB of JSON; ~60 ms of CPU made, sent, validated and stored). `scans`: gives every
    stored weight's scan (`weight_scans` when not given), asked for only once what does not
    need them is made: a sibling process may be scanning meanwhile
    (app.analysis.shared_scans): the layers' reports are made before, without the
    statistics, which are put in once they come (`_add_weight_stats`)."""
    costs = costs or model_costs(graph, unknown_dims)
    batchnorm = batchnorm_reports(graph, 0 if brief else CHANNELS_LISTED)
    found = warnings(graph) + writer_semantics(graph, source.keras_version)
    layers = layer_reports(graph, with_stats=False, costs=costs, code=not brief)
    counted, model = totals(graph, costs), model_info(graph)
    code = {} if brief else reference_code(layers)
    weights = scans() if scans is not None else weight_scans(graph)
    _add_weight_stats(layers, graph, weights)
    return Report(
        id=report_id,
        created_at=datetime.now(UTC),
        source=source,
        model=model,
        totals=counted,
        layers=layers,
        batchnorm=batchnorm,
        warnings=found + not_finite(layers),
        findings=health_findings(graph, weights),
        check=CheckReport(status="not_run", message="The manual-vs-predict check is not run yet."),
        reference_code=code,
    )


def _add_weight_stats(reports: list[LayerReport], graph: ModelGraph, scans: Scans) -> None:
    """Each stored weight's statistics into `reports`: `graph`'s `layer_reports`, made
    without them (`with_stats=False`) while a sibling process was scanning the weights
    (`build_report`). The same reports as made with them, field for field."""
    for report, (_, node) in zip(reports, graph.walk(), strict=True):
        if node.inner is None:
            for weight_report, weight in zip(report.weights, node.weights, strict=True):
                scan = scans.get(id(weight))
                weight_report.stats = scan.stats if scan is not None else None


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
    found = [graph.wrapper] if graph.wrapper else []
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
