"""One view of the graph in the DOT language: a group's own layers as nodes, its sub-groups
folded into one node each, the layers outside it that feed or read it as small stubs.

Every string that comes from the file (layer names, class names) reaches DOT through `quoted`,
so no name can close its string and add attributes or statements, nor be read as one of
Graphviz's label escapes (`\\N`, `\\n`, `\\l`) or as an HTML entity (`&lt;`): what the page
shows is the name as it is. Node ids (`n17`) are our own, never a name.

Each node's third line is a placeholder as wide as its widest overlay value; `app.drawing.svg`
swaps it for one line per overlay (the page's switch shows one of them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.drawing.topology import Group, Topology
from app.layers.registry import lookup
from app.schemas import LayerReport

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ERROR_WIDTH = "rel 9.9e-99 ✗"  # the widest the error line gets (filled in per page view)
GRAPH = (
    'graph [rankdir=TB, nodesep=0.25, ranksep=0.3, bgcolor="transparent", '
    'fontname="Helvetica,Arial,sans-serif"];\n'
    'node [shape=box, style="filled", penwidth=1, color="#5b6b7b", '
    'fontname="Helvetica,Arial,sans-serif", fontsize=10, margin="0.08,0.03", height=0.3];\n'
    'edge [color="#6b7785", arrowsize=0.6, penwidth=1];\n'
)
# Colour by Keras' own family of the class (the registry's `family`).
FAMILY_FILL = {
    "core": "#dbe9ff",
    "convolution": "#ffe1c6",
    "pooling": "#d8f0dc",
    "normalization": "#efe0ff",
    "activations": "#fff3b8",
    "merging": "#ffd6dc",
    "reshaping": "#e2e8ee",
    "regularization": "#eeeeee",
    "preprocessing": "#d3f2f2",
    "recurrent": "#f5d9ef",
    "attention": "#e4f5c8",
    "operations": "#f3e6d6",
    "op_layers": "#f3e6d6",
    "input": "#ffffff",
    "model": "#c8d3e0",
    "block": "#f4f6f8",
    "unknown": "#ffffff",
}


@dataclass(frozen=True)
class NodeFacts:
    """What a node says besides its name: its class, the overlay values, its tooltip."""

    family: str
    class_name: str
    values: Mapping[str, str]  # overlay → its line ("class" → the output shape)
    buckets: Mapping[str, int]  # overlay → 0..5, the shade of the overlay's colour
    tooltip: str


def quoted(text: str) -> str:
    """A DOT string that Graphviz shows as `text`: backslashes doubled (label escapes),
    `&` as `&amp;` (Graphviz reads entities in labels), quotes escaped, control characters
    (line breaks among them) made visible as `?`."""
    text = CONTROL.sub("?", text).replace("\\", "\\\\").replace("&", "&amp;")
    return '"' + text.replace('"', '\\"') + '"'


def family(layer: LayerReport) -> str:
    if layer.is_model:
        return "model"
    if layer.class_name == "InputLayer":
        return "input"
    entry = lookup(layer.class_name)
    return entry.family if entry is not None else "unknown"


def view_dot(
    topo: Topology,
    group: Group,
    layers: list[LayerReport],
    facts: Mapping[str, NodeFacts],
    hrefs: Mapping[str, str],
) -> str:
    """The DOT text of `group`'s view. `facts` and `hrefs` are keyed by node id: `n17` for
    report.layers[17], `f3` for the group numbered 3 (`node_id`); a group's href opens it."""
    lines = ["digraph G {", GRAPH]
    for i in group.members:
        node = f"n{i}"
        lines.append(_node(node, layers[i].name, facts[node], hrefs.get(node), "layer"))
    for child in group.groups:
        node = node_id(child)
        lines.append(_node(node, child.title, facts[node], hrefs.get(node), "fold"))
    stubs: dict[int, None] = {}
    for source, target in _view_edges(topo, group, stubs):
        lines.append(f"{source} -> {target};")
    for i in stubs:
        lines.append(_stub(i, layers[i], hrefs.get(f"n{i}")))
    lines.append("}")
    return "\n".join(lines)


def _node(node_id: str, name: str, facts: NodeFacts, href: str | None, kind: str) -> str:
    shades = " ".join(f"{o[0]}{b}" for o, b in facts.buckets.items())
    widest = max([*facts.values.values(), ERROR_WIDTH], key=len)
    attrs = {
        "id": f"g{node_id}",
        "class": f"{kind} fam-{facts.family} {shades}",
        "label": (name, facts.class_name, widest),
        "tooltip": facts.tooltip,
        "fillcolor": FAMILY_FILL.get(facts.family, "#ffffff"),
    }
    if href:
        attrs["href"] = href
    if kind == "fold":
        attrs["style"] = '"filled,bold"'
        attrs["peripheries"] = "2"
    return f"{node_id} [{_attributes(attrs)}];"


def _stub(i: int, layer: LayerReport, href: str | None) -> str:
    attrs = {
        "class": "stub",
        "label": layer.name,
        "tooltip": f"{layer.name} ({layer.class_name}), outside this group",
        "shape": "plaintext",
        "style": "",
        "fontcolor": "#5b6b7b",
    }
    if href:
        attrs["href"] = href
    return f"s{i} [{_attributes(attrs)}];"


def _attributes(attrs: Mapping[str, str | tuple[str, ...]]) -> str:
    """`key="value", ...`: a tuple is a label's lines, a value already in quotes is ours."""
    parts = []
    for key, value in attrs.items():
        if isinstance(value, tuple):
            text = '"' + "\\n".join(quoted(line)[1:-1] for line in value) + '"'
        elif len(value) > 1 and value[0] == value[-1] == '"':
            text = value
        else:
            text = quoted(value)
        parts.append(f"{key}={text}")
    return ", ".join(parts)


def node_id(group: Group) -> str:
    return f"f{group.number}"


def _view_edges(topo: Topology, group: Group, stubs: dict[int, None]) -> Iterable[tuple[str, str]]:
    """Each edge once, between what this view draws: a layer, a folded group, or a stub for
    the layer outside the group at the edge's other end."""
    seen: dict[tuple[str, str], None] = {}
    for source, target in topo.edges:
        a, b = _drawn_as(topo, group, source), _drawn_as(topo, group, target)
        if a is None and b is None:
            continue
        if a is None:
            a, stubs[source] = f"s{source}", None
        if b is None:
            b, stubs[target] = f"s{target}", None
        if a != b:
            seen[(a, b)] = None
    return list(seen)


def _drawn_as(topo: Topology, group: Group, i: int) -> str | None:
    """The node that stands for layer `i` in `group`'s view, or None when it is outside."""
    home = topo.home[i]
    if home is group:
        return node_id(topo.models[i]) if i in topo.models else f"n{i}"
    chain = [home, *home.ancestors()]
    for below, above in zip(chain, chain[1:], strict=False):
        if above is group:
            return node_id(below)
    return None
