"""Every view of a report's graph drawn at once: what the store keeps beside the report.

A view is the model, or one of its groups, with its sub-groups folded (app.drawing.topology).
Each node carries its values for the page's overlays: its output shape (the "class" overlay,
which colours by Keras' family of the class), its parameters, its MACs (a group: the sum of
its layers'), each with a shade from 0 to 5 on a log scale against the model's largest layer
so that one shade means the same in every view. The check's error per layer is added when
the page is viewed (`error_lines`), since the check may end after the drawing is kept.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from app.display import count, plural, shape
from app.drawing.dot import NodeFacts, family, node_id, view_dot
from app.drawing.svg import DrawingFailed, run_dot, tidy
from app.drawing.topology import Group, Topology, topology
from app.schemas import CheckReport, LayerReport

VERSION = "3"  # bump when a kept drawing would no longer fit the page
MAX_NODES = 400  # a view with more nodes is not drawn: dot would take too long, no one reads it
SHADES = 5


@dataclass(frozen=True)
class Drawing:
    """The SVG of each view, keyed by group key ("" for the model), or why there is none."""

    views: dict[str, str]
    failed: str | None = None


def draw(layers: list[LayerReport], hrefs: Mapping[str, str]) -> Drawing:
    """Each view's SVG. `hrefs` maps a node id to its link: a layer's (`n17`) to its row, a
    group's (`f3`) to what opens it."""
    topo = topology(layers)
    facts = node_facts(topo, layers)
    values = {node: f.values for node, f in facts.items()}
    groups = list(topo.root.walk())
    try:
        for group in groups:
            if len(group.members) + len(group.groups) > MAX_NODES:
                raise DrawingFailed(
                    f"It has {len(group.members):,} layers side by side, too many to draw."
                )
        texts = [view_dot(topo, group, layers, facts, hrefs) for group in groups]
        svgs = run_dot(texts)
    except DrawingFailed as exc:
        return Drawing({}, str(exc))
    views = {
        group.key: tidy(svg, values, f"The graph of {group.title or 'the model'}")
        for group, svg in zip(groups, svgs, strict=True)
    }
    return Drawing(views)


def node_facts(topo: Topology, layers: list[LayerReport]) -> dict[str, NodeFacts]:
    """What each layer's and each group's node says, by node id."""
    top_params = max((layer.params for layer in layers if not layer.is_model), default=0)
    top_macs = max((layer.macs or 0 for layer in layers if not layer.is_model), default=0)
    facts: dict[str, NodeFacts] = {}
    for i, layer in enumerate(layers):
        if not layer.is_model:
            facts[f"n{i}"] = _facts(
                family(layer),
                layer.class_name,
                layer.output_shape,
                layer.params,
                layer.macs,
                top_params,
                top_macs,
                f"{layer.name} ({layer.class_name})",
            )
    for group in topo.root.walk():
        if group.parent is not None:
            facts[node_id(group)] = _group_facts(group, layers, top_params, top_macs)
    return facts


def _group_facts(group: Group, layers: list[LayerReport], top_params: int, top_macs: int):
    inside = [layers[i] for i in group.leaves()]
    macs = [layer.macs for layer in inside]
    total_macs = None if any(m is None for m in macs) else sum(macs)
    n = plural(len(inside), "layer")
    if group.kind == "model":
        model = layers[group.layer]
        kind, output, what = model.class_name, model.output_shape, f"nested {model.class_name}"
    else:
        kind, output, what = "block", None, "block"
    return _facts(
        group.kind,
        f"{kind} · {n}",
        output,
        sum(layer.params for layer in inside),
        total_macs,
        top_params,
        top_macs,
        f"{group.title}: {what} of {n}; open it to see them",
    )


def _facts(
    fam: str,
    class_name: str,
    output,
    params: int,
    macs: int | None,
    top_params: int,
    top_macs: int,
    title: str,
) -> NodeFacts:
    values = {
        "class": shape(output) if output is not None else "",
        "params": f"{count(params)} params",
        "macs": f"{count(macs)} MACs" if macs is not None else "MACs not known",
    }
    buckets = {"params": shade(params, top_params)}
    if macs is not None:
        buckets["macs"] = shade(macs, top_macs)
    return NodeFacts(fam, class_name, values, buckets, title)


def shade(value: float, top: float) -> int:
    """0 for nothing, else SHADES within √10 (about 3×) of `top`, one shade less for each
    further √10 below it, never less than 1: a log scale that tells 10 M MACs from 100 M."""
    if value <= 0 or top <= 0:
        return 0
    steps = math.floor(2 * math.log10(top / value)) if value < top else 0
    return max(1, SHADES - steps)


def error_lines(
    topo: Topology, layers: list[LayerReport], check: CheckReport
) -> tuple[dict[str, str], dict[str, int]]:
    """Each node's error line and shade from the check: the layer's max_rel_error against
    the tolerance (shade 5: over it), a group's largest. Names the check gives twice (in two
    nested models) are left out, as the check's table leaves them unlinked."""
    by_name: dict[str, float | None] = {}
    passed: dict[str, bool] = {}
    for row in check.layers:
        by_name[row.name] = row.max_rel_error if row.name not in by_name else None
        passed[row.name] = row.verdict != "failed"
    names = Counter(layer.name for layer in layers)
    lines: dict[str, str] = {}
    shades: dict[str, int] = {}
    for i, layer in enumerate(layers):
        error = by_name.get(layer.name) if names[layer.name] == 1 else None
        if error is not None and not layer.is_model:
            lines[f"n{i}"], shades[f"n{i}"] = _error_line(error, passed[layer.name], check)
    for group in topo.root.walk():
        inside = [by_name.get(layers[i].name) for i in group.leaves()]
        known = [e for e in inside if e is not None]
        if group.parent is not None and known:
            worst = max(known)
            ok = all(passed.get(layers[i].name, True) for i in group.leaves())
            lines[node_id(group)], shades[node_id(group)] = _error_line(worst, ok, check)
    return lines, shades


def _error_line(error: float, passed: bool, check: CheckReport) -> tuple[str, int]:
    mark = "✓" if passed else "✗"
    tolerance = check.tolerance or 1e-5
    ratio = error / tolerance
    if not passed:
        return f"rel {error:.1e} {mark}", SHADES
    # Shade 1 below a thousandth of the tolerance, one more per tenfold, 4 up to it.
    bucket = 0 if error == 0 else max(1, min(4, 5 + math.floor(math.log10(ratio))))
    return f"rel {error:.1e} {mark}", bucket
