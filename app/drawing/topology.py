"""The model's topology as the drawing folds it: a tree of groups over the report's layers.

A group is a nested model (its layers are those whose `path` names it) or a repeated block
of one model: the layers whose names share a prefix ending in a numbered part, as Keras'
applications name theirs (`conv2_block1_1_conv`, `conv2_block1_add` → `conv2_block1`, inside
`conv2`; `block2a_expand_conv` → `block2a`). Blocks are looked for only in a model with more
than FOLD_OVER layers of its own, and need MIN_BLOCK layers: a small model is drawn whole.
A name whose last part is the number (`dense_1`, Keras' automatic names) starts no block.

Edges are `inbound`, which names layers of the same model: a nested model is one member of
the model that calls it, fed by its inbound layers and feeding the layers that name it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from app.schemas import LayerReport

FOLD_OVER = 24  # a model with more layers of its own than this is folded into its blocks
MIN_BLOCK = 3  # fewer layers sharing a prefix are not a block
NUMBERED = re.compile(r"\d")


@dataclass(eq=False)  # a group is itself: compared and hashed by identity
class Group:
    """A nested model or a block: what the drawing folds into one node and opens as a view."""

    key: str  # unique in the report: the enclosing models' names and the block's prefix
    title: str  # the model's name or the block's prefix
    kind: str  # "model" | "block"
    parent: Group | None
    layer: int | None = None  # a nested model's index in report.layers
    number: int = 0  # its place in `walk()` order: the id of its node and of its view
    members: list[int] = field(default_factory=list)  # layers drawn in this group's view
    groups: list[Group] = field(default_factory=list)  # sub-groups, folded in its view

    def walk(self):
        yield self
        for group in self.groups:
            yield from group.walk()

    def leaves(self) -> list[int]:
        """Every layer inside, nested groups' included."""
        inside = list(self.members)
        for group in self.groups:
            inside += group.leaves()
        return inside

    def ancestors(self) -> list[Group]:
        chain, group = [], self.parent
        while group is not None:
            chain.append(group)
            group = group.parent
        return chain


@dataclass
class Topology:
    root: Group
    edges: list[tuple[int, int]]  # (source, target) as indices in report.layers
    home: dict[int, Group]  # each layer → the group whose view draws it as a node
    models: dict[int, Group]  # each nested model's layer → its group

    def group(self, key: str) -> Group | None:
        return next((g for g in self.root.walk() if g.key == key), None)


def topology(layers: list[LayerReport]) -> Topology:
    root = Group(key="", title="", kind="model", parent=None)
    models: dict[tuple[str, ...], Group] = {(): root}
    nested: dict[int, Group] = {}
    scopes: dict[tuple[str, ...], list[int]] = {(): []}
    for i, layer in enumerate(layers):
        scope = tuple(layer.path)
        scopes.setdefault(scope, []).append(i)
        if layer.is_model:
            inner = (*scope, layer.name)
            models[inner] = nested[i] = Group("/".join(inner), layer.name, "model", None, i)
            scopes.setdefault(inner, [])
    home: dict[int, Group] = {}
    for scope, members in scopes.items():
        _fold_blocks(models.get(scope, root), members, layers, nested, home)
    taken: set[str] = set()
    for number, group in enumerate(root.walk()):
        group.number = number
        if group.key in taken:  # a block named as a nested model beside it
            group.key = f"{group.key}~{number}"
        taken.add(group.key)
    return Topology(root, list(_edges(layers)), home, nested)


def _fold_blocks(
    model: Group,
    members: list[int],
    layers: list[LayerReport],
    nested: dict[int, Group],
    home: dict[int, Group],
) -> None:
    """Sort a model's own layers into its block groups; each layer's home is the innermost
    group holding it (a nested model is drawn there folded, as one node)."""
    prefixes = (
        _block_prefixes([layers[i].name for i in members]) if len(members) > FOLD_OVER else set()
    )
    blocks: dict[str, Group] = {}
    for i in members:
        group = model
        for prefix in _prefixes(layers[i].name):
            if prefix in prefixes:
                group = _block(blocks, prefix, group, model)
        home[i] = group
        if i in nested:
            nested[i].parent = group
            group.groups.append(nested[i])
        else:
            group.members.append(i)


def _block(blocks: dict[str, Group], prefix: str, parent: Group, model: Group) -> Group:
    if prefix not in blocks:
        key = f"{model.key}/{prefix}" if model.key else prefix
        blocks[prefix] = Group(key, prefix, "block", parent)
        parent.groups.append(blocks[prefix])
    return blocks[prefix]


def _prefixes(name: str) -> list[str]:
    """The candidate block prefixes of a name, shortest first: each part with a number in
    it that is not the name's last part closes one (`conv2_block1_1_conv` → `conv2`,
    `conv2_block1`, `conv2_block1_1`)."""
    parts = name.split("_")
    return ["_".join(parts[: n + 1]) for n in range(len(parts) - 1) if NUMBERED.search(parts[n])]


def _block_prefixes(names: list[str]) -> set[str]:
    """The prefixes that make blocks, shortest first: shared by MIN_BLOCK names or more but
    not by all of the group they would split, which must hold more than FOLD_OVER layers
    (ResNet50's `conv2` holds 32: it opens into `conv2_block1`…; a block of 12 stays whole).
    Of two prefixes shared by the same names, the longer names the block."""
    counts = Counter(p for name in names for p in _prefixes(name))
    longer = {p for p in counts for q in counts if q.startswith(p + "_") and counts[q] == counts[p]}
    kept: set[str] = set()
    for prefix in sorted(set(counts) - longer, key=lambda p: p.count("_")):
        enclosing = [q for q in kept if prefix.startswith(q + "_")]
        around = counts[max(enclosing, key=len)] if enclosing else len(names)
        if around > FOLD_OVER and MIN_BLOCK <= counts[prefix] < around:
            kept.add(prefix)
    return kept


def _edges(layers: list[LayerReport]):
    """(source, target) for every inbound name, resolved in the target's own model."""
    index = {(tuple(layer.path), layer.name): i for i, layer in enumerate(layers)}
    for i, layer in enumerate(layers):
        for name in layer.inbound:
            source = index.get((tuple(layer.path), name))
            if source is not None and source != i:
                yield source, i
