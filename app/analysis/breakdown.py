"""Per-layer, per-weight parameter breakdown of a resolved graph, with totals and formulas."""

from __future__ import annotations

from typing import Any

from app.analysis.costs import LayerCost, ModelCosts, model_costs
from app.analysis.forward import layer_forward
from app.analysis.health import Scans, weight_scans
from app.analysis.stats import WeightScan
from app.graph import LayerNode, ModelGraph, WeightRef, shape_json
from app.layers.registry import lookup
from app.schemas import LayerReport, Totals, WeightReport


def layer_reports(
    graph: ModelGraph,
    *,
    with_stats: bool = True,
    costs: ModelCosts | None = None,
    scans: Scans | None = None,
    code: bool = True,
) -> list[LayerReport]:
    """Every layer in get_weights() order; nested models are followed by their layers.
    `costs` and `scans` (every stored weight's statistics): the graph's, when the caller
    worked them out already; not `code`: the forwards without their code (`layer_forward`)."""
    costs = costs or model_costs(graph)
    if scans is None:
        scans = weight_scans(graph) if with_stats else {}
    reports = []
    for parents, node in graph.walk():
        if node.inner is not None:
            reports.append(_container_report(parents, node, costs.layers[id(node)]))
        else:
            reports.append(_leaf_report(parents, node, scans, costs.layers[id(node)], code))
    return reports


def totals(graph: ModelGraph, costs: ModelCosts | None = None) -> Totals:
    costs = costs or model_costs(graph)
    weights = list(graph.all_weights())
    trainable = sum(w.count for w in weights if w.trainable)
    params = sum(w.count for w in weights)
    leaves = [(parents, node) for parents, node in graph.walk() if node.inner is None]
    costs_of = [(parents, node, costs.layers[id(node)]) for parents, node in leaves]
    return Totals(
        params=params,
        trainable=trainable,
        non_trainable=params - trainable,
        bytes=sum(w.nbytes for w in weights),
        layers=len(leaves),
        weights=len(weights),
        macs=sum(c.macs or 0 for _, _, c in costs_of),
        flops=sum(c.flops or 0 for _, _, c in costs_of),
        cost_unknown=["/".join((*p, n.name)) for p, n, c in costs_of if c.macs is None],
        peak_activation_bytes=costs.peak_activation_bytes,
        unknown_dims=costs.unknown_dims,
    )


def cost_fields(cost: LayerCost) -> dict:
    """A LayerReport's cost fields."""
    return {
        "macs": cost.macs,
        "flops": cost.flops,
        "macs_formula": cost.macs_formula,
        "flops_formula": cost.flops_formula,
        "output_bytes": cost.output_bytes,
    }


def formula(weights: list[WeightRef]) -> str:
    """`4096 × 512 + 512 = 2,097,664`; identical terms in a row fold: `4 × 512 = 2,048`."""
    if not weights:
        return "0 (no weights)"
    terms = [" × ".join(str(d) for d in w.shape) or "1" for w in weights]
    folded = _fold_repeats(terms)
    total = sum(w.count for w in weights)
    text = " + ".join(folded)
    if text == str(total):
        return f"{total:,}"
    return f"{text} = {total:,}"


def _fold_repeats(terms: list[str]) -> list[str]:
    folded: list[str] = []
    run = 1
    for i, term in enumerate(terms):
        if i + 1 < len(terms) and terms[i + 1] == term:
            run += 1
            continue
        folded.append(f"{run} × {term}" if run > 1 else term)
        run = 1
    return folded


def _leaf_report(
    parents: tuple[str, ...], node: LayerNode, scans: Scans, cost: LayerCost, code: bool = True
) -> LayerReport:
    entry = lookup(node.class_name)
    trainable_params = sum(w.count for w in node.weights if w.trainable)
    params = sum(w.count for w in node.weights)
    return LayerReport(
        name=node.name,
        class_name=node.class_name,
        path=list(parents),
        depth=len(parents),
        known=node.known or node.class_name == "InputLayer",
        is_model=False,
        trainable=node.trainable_flag,
        inbound=inbound_names(node),
        calls=max(1, len(node.calls)),
        output_shape=shape_json(node.output_shapes[0] if node.output_shapes else None),
        params=params,
        trainable_params=trainable_params,
        non_trainable_params=params - trainable_params,
        bytes=sum(w.nbytes for w in node.weights),
        formula=formula(node.weights),
        summary=_summary(node, entry),
        weights=[_weight_report(w, scans.get(id(w))) for w in node.weights],
        notes=list(node.notes),
        **cost_fields(cost),
        forward=layer_forward(node, entry, code),
    )


def _summary(node: LayerNode, entry: Any) -> str:
    if node.class_name == "InputLayer":
        return "The model's input: no weights."
    if entry is None:
        return "A class the explainer does not know: its stored weights are listed as found."
    return entry.summary


def _container_report(parents: tuple[str, ...], node: LayerNode, cost: LayerCost) -> LayerReport:
    assert node.inner is not None
    inner_weights = list(node.inner.all_weights())
    params = sum(w.count for w in inner_weights)
    trainable_params = sum(w.count for w in inner_weights if w.trainable)
    return LayerReport(
        name=node.name,
        class_name=node.inner.class_name,
        path=list(parents),
        depth=len(parents),
        known=True,
        is_model=True,
        trainable=node.trainable_flag,
        inbound=inbound_names(node),
        calls=max(1, len(node.calls)),
        output_shape=shape_json(node.output_shapes[0] if node.output_shapes else None),
        params=params,
        trainable_params=trainable_params,
        non_trainable_params=params - trainable_params,
        bytes=sum(w.nbytes for w in inner_weights),
        formula=f"sum of its {len(list(node.inner.walk()))} layers = {params:,}",
        summary=f"A nested {node.inner.class_name} model; its layers follow.",
        weights=[],
        **cost_fields(cost),
    )


def inbound_names(node: LayerNode) -> list[str]:
    if not node.calls:
        return []
    return list(dict.fromkeys(ref.layer for ref in node.calls[0]))


def _weight_report(weight: WeightRef, scan: WeightScan | None) -> WeightReport:
    stats = scan.stats if scan is not None else None
    return WeightReport(
        name=weight.name,
        role=weight.role,
        shape=list(weight.shape),
        dtype=weight.dtype,
        count=weight.count,
        trainable=weight.trainable,
        bytes=weight.nbytes,
        index=weight.index if weight.index is not None else -1,
        stored_name=weight.stored_name,
        stats=stats,
    )
