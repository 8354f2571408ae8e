"""Which layer of `a` is which layer of `b`: by name, and by position where names changed.

Keras names a layer from its class and a session-wide counter, so a model built twice gets
`dense` the first time and `dense_1` the next: the same layer under another name. Two
matchings are made and the better one kept:

- by name: the layers whose full path (enclosing models, then name) is found on both sides,
  those that keep their order on both sides (the longest such chain); between two of them,
  the layers left are paired by position (below);
- by position: the class names of the layers, in `model.layers` order (nested models'
  layers after their model), aligned as a diff aligns lines (`difflib.SequenceMatcher`).

The one that pairs more layers wins; on a tie, the one that pairs more under the same name.
Layers left unpaired were added (only in b) or removed (only in a).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

from app.graph import LayerNode, ModelGraph

MatchedBy = Literal["name", "position"]


@dataclass(frozen=True)
class Entry:
    parents: tuple[str, ...]
    node: LayerNode

    @property
    def path(self) -> tuple[str, ...]:
        return (*self.parents, self.node.name)


@dataclass(frozen=True)
class Pair:
    a: Entry | None
    b: Entry | None
    matched_by: MatchedBy | None = None


def entries(graph: ModelGraph) -> list[Entry]:
    """Every layer, nested ones included, in `model.layers` order."""
    return [Entry(parents, node) for parents, node in graph.walk()]


def match(a: list[Entry], b: list[Entry]) -> list[Pair]:
    """Every layer of both sides once: paired, or alone (added, removed)."""
    by_name = _by_name(a, b)
    by_position = _by_position(a, b)
    return max((by_position, by_name), key=_score)  # max keeps the first of equals: by name


def _score(pairs: list[Pair]) -> tuple[int, int]:
    matched = [p for p in pairs if p.a is not None and p.b is not None]
    return len(matched), sum(p.a.path == p.b.path for p in matched)  # type: ignore[union-attr]


def _by_name(a: list[Entry], b: list[Entry]) -> list[Pair]:
    where_b = {entry.path: j for j, entry in enumerate(b)}
    anchors = _ordered_chain([(i, where_b[e.path]) for i, e in enumerate(a) if e.path in where_b])
    pairs: list[Pair] = []
    last_i = last_j = 0
    for i, j in [*anchors, (len(a), len(b))]:
        pairs += _by_position(a[last_i:i], b[last_j:j])
        if i < len(a):
            pairs.append(Pair(a[i], b[j], "name"))
        last_i, last_j = i + 1, j + 1
    return pairs


def _by_position(a: list[Entry], b: list[Entry]) -> list[Pair]:
    classes_a = [e.node.class_name for e in a]
    classes_b = [e.node.class_name for e in b]
    matcher = SequenceMatcher(None, classes_a, classes_b, autojunk=False)
    pairs: list[Pair] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs += [
                Pair(x, y, "name" if x.path == y.path else "position")
                for x, y in zip(a[i1:i2], b[j1:j2], strict=True)
            ]
            continue
        pairs += [Pair(x, None) for x in a[i1:i2]]
        pairs += [Pair(None, y) for y in b[j1:j2]]
    return pairs


def _ordered_chain(anchors: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest sub-list of `anchors` (increasing in i) that increases in j too."""
    tails: list[int] = []  # tails[k]: the smallest j that ends a chain of length k + 1
    ends: list[int] = []  # the anchor index at each tails[k]
    before = [-1] * len(anchors)
    for index, (_, j) in enumerate(anchors):
        k = bisect.bisect_left(tails, j)
        if k == len(tails):
            tails.append(j)
            ends.append(index)
        else:
            tails[k], ends[k] = j, index
        before[index] = ends[k - 1] if k else -1
    chain = []
    index = ends[-1] if ends else -1
    while index >= 0:
        chain.append(anchors[index])
        index = before[index]
    return chain[::-1]
