"""The graph on the report page: its drawing (app.drawing), kept in the store after the first
view, with the reader's overlay and the groups they opened.

Everything works without JavaScript: the overlay switch is a set of links (`?overlay=macs`),
a folded group's node links to `?open=<group>#graph-<group>`, which renders that group's
view (and its enclosing ones) open; each view is a `<details>` one can also open by hand.
Only the open groups' drawings are in the page (EfficientNetB0's 16 others would add 230 KB):
`static/graph.js` loads a group's when it is opened (`group_drawing`), without reloading.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from markupsafe import Markup

from app.drawing import drawing
from app.drawing.dot import FAMILY_FILL, family, node_id
from app.drawing.svg import fill_errors
from app.drawing.topology import Group, Topology, topology
from app.errors import GroupNotFound
from app.schemas import Report
from app.store import ReportStore
from app.web.layer_view import ANCHOR_UNSAFE, anchor

# The kept drawing's links are this module's (rows' anchors, `?open=`): its version too.
VERSION = f"{drawing.VERSION}.1"
OVERLAYS = {
    "class": "Class",
    "params": "Parameters",
    "macs": "MACs",
    "error": "Error vs Keras",
}
FAMILY_NAMES = {
    "input": "InputLayer",
    "model": "nested model",
    "block": "block",
    "unknown": "unknown class",
}


@dataclass
class GroupView:
    key: str
    anchor: str
    title: str
    kind: str
    layers: int
    open: bool
    svg: Markup | None  # drawn in the page when open; else the page's script loads it
    source: str  # where the script loads it from
    open_href: str  # the page with it open: the same without JavaScript
    groups: list[GroupView] = field(default_factory=list)


@dataclass(frozen=True)
class OverlayLink:
    name: str
    label: str
    href: str
    current: bool


@dataclass
class GraphView:
    top: Markup | None
    groups: list[GroupView]
    overlay: str
    overlays: list[OverlayLink]
    legend: list[tuple[str, str]]  # (what, fill colour)
    failed: str | None
    has_errors: bool
    drawn_s: float | None  # seconds `dot` took, when drawn for this view (not kept)


def graph_view(report: Report, query: Mapping[str, str], store: ReportStore) -> GraphView:
    topo = topology(report.layers)
    kept, drawn_s = _kept_drawing(report, topo, store)
    overlay = query.get("overlay", "class")
    overlay = overlay if overlay in OVERLAYS else "class"
    if kept.failed is not None:
        return GraphView(None, [], overlay, [], [], kept.failed, False, drawn_s)
    lines, shades = drawing.error_lines(topo, report.layers, report.check)
    opened = _opened(topo, query.get("open", ""))

    def svg(group: Group) -> Markup:
        text = fill_errors(kept.views.get(group.key, ""), lines, shades)
        return Markup(_keep_overlay(text, overlay))

    def view(group: Group) -> GroupView:
        key, at = quote(group.key, safe=""), group_anchor(topo, group)
        return GroupView(
            key=group.key,
            anchor=at,
            title=group.title,
            kind=group.kind,
            layers=len(group.leaves()),
            open=group in opened,
            svg=svg(group) if group in opened else None,
            source=f"/reports/{report.id}/graph?view={key}",
            open_href=f"?{urlencode({'overlay': overlay, 'open': group.key})}#{at}",
            groups=[view(child) for child in group.groups],
        )

    return GraphView(
        top=svg(topo.root),
        groups=[view(group) for group in topo.root.groups],
        overlay=overlay,
        overlays=_overlay_links(query, overlay),
        legend=_legend(report, topo),
        failed=None,
        has_errors=bool(lines),
        drawn_s=drawn_s,
    )


def group_drawing(report: Report, key: str, store: ReportStore) -> Markup:
    """One group's view, errors filled in: what the page's script loads when it is opened."""
    topo = topology(report.layers)
    group = topo.group(key) if key else None
    if group is None:
        raise GroupNotFound("This report's graph has no group with this key.", {"view": key[:100]})
    kept, _ = _kept_drawing(report, topo, store)
    if kept.failed is not None:
        return Markup('<p class="notice warn">The graph is not drawn: {}</p>').format(kept.failed)
    lines, shades = drawing.error_lines(topo, report.layers, report.check)
    return Markup(fill_errors(kept.views.get(group.key, ""), lines, shades))


def group_anchor(topo: Topology, group: Group) -> str:
    """`graph-conv2_block1`: the group's key made safe; its number keeps it unique."""
    slug = ANCHOR_UNSAFE.sub("-", group.key)[:80]
    taken = [g for g in topo.root.walk() if ANCHOR_UNSAFE.sub("-", g.key)[:80] == slug]
    return f"graph-{slug}" if len(taken) == 1 else f"graph-{slug}-{group.number}"


def hrefs(report: Report, topo: Topology) -> dict[str, str]:
    """Each node's link: a layer to its row in the layer table, a group to its open view."""
    links = {f"n{i}": f"#{anchor(layer)}" for i, layer in enumerate(report.layers)}
    for group in topo.root.walk():
        if group.parent is not None:
            target = group_anchor(topo, group)
            links[node_id(group)] = f"?open={quote(group.key, safe='')}#{target}"
    return links


def _kept_drawing(
    report: Report, topo: Topology, store: ReportStore
) -> tuple[drawing.Drawing, float | None]:
    body = store.get_drawing(report.id, VERSION)
    if body is not None:
        kept = json.loads(zlib.decompress(body))
        return drawing.Drawing(kept["views"], kept["failed"]), None
    start = time.perf_counter()
    drawn = drawing.draw(report.layers, hrefs(report, topo))
    seconds = time.perf_counter() - start
    body = json.dumps({"views": drawn.views, "failed": drawn.failed}).encode()
    store.set_drawing(report.id, VERSION, zlib.compress(body))
    return drawn, seconds


def _opened(topo: Topology, key: str) -> set[Group]:
    group = topo.group(key) if key else None
    return set() if group is None else {group, *group.ancestors()}


def _keep_overlay(svg: str, overlay: str) -> str:
    """A folded group's link keeps the overlay the reader chose."""
    if overlay == "class":
        return svg
    return svg.replace('xlink:href="?open=', f'xlink:href="?overlay={overlay}&amp;open=')


def _overlay_links(query: Mapping[str, str], overlay: str) -> list[OverlayLink]:
    kept = {k: v for k, v in query.items() if k not in ("overlay", "open")}
    return [
        OverlayLink(
            name=name,
            label=label,
            href="?" + urlencode({**kept, "overlay": name}) + "#graph",
            current=name == overlay,
        )
        for name, label in OVERLAYS.items()
    ]


def _legend(report: Report, topo: Topology) -> list[tuple[str, str]]:
    present = dict.fromkeys(family(layer) for layer in report.layers)
    present.update(dict.fromkeys(group.kind for group in topo.root.walk() if group.parent))
    return [
        (FAMILY_NAMES.get(name, name), FAMILY_FILL[name]) for name in present if name in FAMILY_FILL
    ]
