"""The layer table as a person scans it: grouped by nested model, filtered, collapsible.

Every layer is rendered; the filter marks rows hidden, so the page answers a filter without
JavaScript (a GET form) and `static/layers.js` can refine it in place. Nothing here computes a
number the report does not hold: counts of rows are counted, parameters are the report's.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from app.schemas import LayerReport

OPEN_UP_TO = 40  # a nested model with more layers starts collapsed, unless a filter is on
ANCHOR_UNSAFE = re.compile(r"[^A-Za-z0-9_.:/-]+")


@dataclass(frozen=True)
class LayerFilter:
    """What the reader asked to see: a class, a piece of the name, only layers with weights."""

    class_name: str = ""
    text: str = ""
    with_weights: bool = False
    sort: str = ""  # "macs": every layer in one table, most MACs first; "": model order

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> LayerFilter:
        return cls(
            class_name=query.get("class", "")[:100],
            text=query.get("q", "").strip()[:100],
            with_weights=query.get("weights", "") in ("1", "on", "true"),
            sort="macs" if query.get("sort") == "macs" else "",
        )

    def query(self, **changes: str) -> str:
        """This filter as a query string, with `changes` (the sort links keep the filter)."""
        fields = {"class": self.class_name, "q": self.text, "sort": self.sort}
        fields["weights"] = "1" if self.with_weights else ""
        fields.update(changes)
        return urlencode({k: v for k, v in fields.items() if v})

    @property
    def active(self) -> bool:
        return bool(self.class_name or self.text or self.with_weights)

    def keeps(self, layer: LayerReport) -> bool:
        if self.class_name and layer.class_name != self.class_name:
            return False
        if self.text and self.text.lower() not in layer.name.lower():
            return False
        return not (self.with_weights and not layer.weights)


@dataclass
class LayerRow:
    layer: LayerReport
    anchor: str
    hidden: bool

    @property
    def shared_roles(self) -> set[str]:
        """Roles two of its weights share (Bidirectional's two kernels): those are named."""
        roles = Counter(w.role for w in self.layer.weights)
        return {role for role, n in roles.items() if n > 1}


@dataclass
class LayerRun:
    """Consecutive layers of one model: one table."""

    rows: list[LayerRow]
    kind: str = "run"

    @property
    def hidden(self) -> bool:
        return all(row.hidden for row in self.rows)


@dataclass
class ModelGroup:
    """A model and what it holds, in `model.layers` order: runs of rows and nested groups."""

    layer: LayerReport | None  # None for the model that was uploaded
    anchor: str
    items: list[LayerRun | ModelGroup] = field(default_factory=list)
    kind: str = "group"
    total: int = 0  # layers inside, nested ones included (models themselves not counted)
    shown: int = 0

    @property
    def hidden(self) -> bool:
        return self.shown == 0

    @property
    def start_open(self) -> bool:
        return self.layer is None or self.total <= OPEN_UP_TO


@dataclass
class LayerTable:
    root: ModelGroup
    classes: list[tuple[str, int]]
    filter: LayerFilter
    total: int
    shown: int
    nested: int  # how many nested models

    @property
    def start_open_all(self) -> bool:
        return self.filter.active


def anchor(layer: LayerReport) -> str:
    """A fragment id unique per layer: the names of the enclosing models are part of it."""
    return "layer-" + ANCHOR_UNSAFE.sub("-", "/".join([*layer.path, layer.name]))


def layer_table(layers: list[LayerReport], keep: LayerFilter) -> LayerTable:
    root = ModelGroup(layer=None, anchor="layer-top")
    groups = {(): root}
    if keep.sort == "macs":  # one table of every layer (nested ones too), most MACs first
        layers = sorted(
            (layer for layer in layers if not layer.is_model),
            key=lambda layer: -1 if layer.macs is None else layer.macs,
            reverse=True,
        )
    for layer in layers:
        parent = groups.get(tuple(layer.path), root)
        if layer.is_model:
            group = ModelGroup(layer=layer, anchor=anchor(layer))
            groups[(*layer.path, layer.name)] = group
            parent.items.append(group)
        else:
            _append_row(parent, LayerRow(layer, anchor(layer), hidden=not keep.keeps(layer)))
    _count(root)
    return LayerTable(
        root=root,
        classes=class_counts(layers),
        filter=keep,
        total=root.total,
        shown=root.shown,
        nested=len(groups) - 1,
    )


def class_counts(layers: list[LayerReport]) -> list[tuple[str, int]]:
    """Each class of layer (nested models aside) and how many layers have it, by name."""
    counts = Counter(layer.class_name for layer in layers if not layer.is_model)
    return sorted(counts.items(), key=lambda item: item[0].lower())


def anchors_by_name(layers: list[LayerReport]) -> dict[str, str]:
    """Layer name → anchor, for names that appear once (the check names layers by name)."""
    counts = Counter(layer.name for layer in layers)
    return {layer.name: anchor(layer) for layer in layers if counts[layer.name] == 1}


def _append_row(group: ModelGroup, row: LayerRow) -> None:
    last = group.items[-1] if group.items else None
    if isinstance(last, LayerRun):
        last.rows.append(row)
    else:
        group.items.append(LayerRun([row]))


def _count(group: ModelGroup) -> None:
    for item in group.items:
        if isinstance(item, ModelGroup):
            _count(item)
            group.total += item.total
            group.shown += item.shown
        else:
            group.total += len(item.rows)
            group.shown += sum(not row.hidden for row in item.rows)
