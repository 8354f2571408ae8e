"""The layer table as a person scans it: grouped by nested model and by repeated block
(`app.web.layer_blocks`), filtered, collapsible, each layer with the layers feeding it.

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
from app.web.layer_blocks import BlockGroup, split_into_blocks

OPEN_UP_TO = 40  # a nested model with more layers starts collapsed, unless a filter is on
ANCHOR_UNSAFE = re.compile(r"[^A-Za-z0-9_.:/-]+")


@dataclass(frozen=True)
class LayerFilter:
    """What the reader asked to see: a class, a piece of the name, only layers with weights."""

    class_name: str = ""
    text: str = ""
    with_weights: bool = False
    fold: str = ""  # "all" opens every group, "none" folds them all (the links without JS)
    sort: str = ""  # "macs": every layer in one table, most MACs first; "": model order

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> LayerFilter:
        fold = query.get("open", "")
        return cls(
            class_name=query.get("class", "")[:100],
            text=query.get("q", "").strip()[:100],
            with_weights=query.get("weights", "") in ("1", "on", "true"),
            fold=fold if fold in ("all", "none") else "",
            sort="macs" if query.get("sort") == "macs" else "",
        )

    def query(self, **changes: str) -> str:
        """This filter as a query string, with `changes` (e.g. `open="all"`, `sort=""`): the
        fold and sort links keep the filter."""
        params = {"class": self.class_name, "q": self.text, "weights": "1" * self.with_weights}
        params.update({"open": self.fold, "sort": self.sort, **changes})
        return urlencode({key: value for key, value in params.items() if value})

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
    # "Connected to", as model.summary() prints it: each inbound layer and its row's anchor
    # (None for a layer without a row, such as an InputLayer a reader leaves out).
    inbound: list[tuple[str, str | None]] = field(default_factory=list)

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
    items: list[LayerRun | ModelGroup | BlockGroup] = field(default_factory=list)
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
    blocks: int = 0  # how many repeated blocks

    def opens(self, group: ModelGroup | BlockGroup) -> bool:
        """Whether a group starts open: as asked, else when a filter is on or it is small."""
        if self.filter.fold:
            return self.filter.fold == "all"
        return self.filter.active or group.start_open

    def fold_query(self, fold: str) -> str:
        return self.filter.query(open=fold)

    @property
    def first_block(self) -> str:
        return _first_block(self.root) or ""


def anchor(layer: LayerReport) -> str:
    """A fragment id unique per layer: the names of the enclosing models are part of it."""
    return "layer-" + ANCHOR_UNSAFE.sub("-", "/".join([*layer.path, layer.name]))


def layer_table(layers: list[LayerReport], keep: LayerFilter) -> LayerTable:
    root = ModelGroup(layer=None, anchor="layer-top")
    groups = {(): root}
    anchors = {(*layer.path, layer.name): anchor(layer) for layer in layers}
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
            inbound = [(name, anchors.get((*layer.path, name))) for name in layer.inbound]
            row = LayerRow(layer, anchor(layer), not keep.keeps(layer), inbound)
            _append_row(parent, row)
    if not keep.sort:  # sorted by MACs, a block's layers are no longer side by side
        for path, group in groups.items():
            _fold_blocks(group, path)
    _count(root)
    _close_blocks(root, open_all=root.total <= OPEN_UP_TO)
    return LayerTable(
        root=root,
        classes=class_counts(layers),
        filter=keep,
        total=root.total,
        shown=root.shown,
        nested=len(groups) - 1,
        blocks=_count_blocks(root),
    )


def _first_block(group: ModelGroup) -> str | None:
    for item in group.items:
        if isinstance(item, BlockGroup):
            return item.name
        if isinstance(item, ModelGroup) and (name := _first_block(item)):
            return name
    return None


def _count_blocks(group: ModelGroup) -> int:
    return sum(
        1 if isinstance(item, BlockGroup) else _count_blocks(item)
        for item in group.items
        if not isinstance(item, LayerRun)
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


def _fold_blocks(group: ModelGroup, path: tuple[str, ...]) -> None:
    """Each run of the group's rows split into plain runs and repeated blocks."""

    def block_anchor(prefix: str) -> str:
        return "block-" + ANCHOR_UNSAFE.sub("-", "/".join([*path, prefix]))

    items: list[LayerRun | ModelGroup | BlockGroup] = []
    for item in group.items:
        if isinstance(item, LayerRun):
            items.extend(split_into_blocks(item.rows, LayerRun, block_anchor))
        else:
            items.append(item)
    group.items = items


def _close_blocks(group: ModelGroup, open_all: bool) -> None:
    """Blocks start open in a model small enough to read whole, folded in a larger one."""
    for item in group.items:
        if isinstance(item, BlockGroup):
            item.start_open = open_all
        elif isinstance(item, ModelGroup):
            _close_blocks(item, open_all and item.total <= OPEN_UP_TO)


def _count(group: ModelGroup | BlockGroup) -> None:
    for item in group.items:
        if isinstance(item, ModelGroup | BlockGroup):
            _count(item)
            group.total += item.total
            group.shown += item.shown
        else:
            group.total += len(item.rows)
            group.shown += sum(not row.hidden for row in item.rows)
