"""Repeated blocks in the layer table: consecutive layers named `<block>_…` fold together.

keras.applications names the layers of a repeated block with one prefix (ResNet50's
`conv2_block1_1_conv` … `conv2_block1_out`, EfficientNet's `block2a_expand_conv` …,
MobileNetV2's `block_1_expand` …, VGG16's `block1_conv1` …). The prefix runs up to and
including the first `_`-separated part that starts with `block` (and the part after a bare
`block`). Two or more consecutive layers of one model with the same prefix make a block;
anything else stays a plain row. Only names are read: a model named otherwise has no blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import groupby
from typing import Any

BLOCK_PART = re.compile(r"block", re.IGNORECASE)
MIN_LAYERS = 2


def block_prefix(name: str) -> str | None:
    """`conv2_block1_1_conv` → `conv2_block1`; `block_1_expand` → `block_1`; `dense` → None."""
    parts = name.split("_")
    for i, part in enumerate(parts[:-1]):
        if BLOCK_PART.match(part):
            end = i + 2 if part.lower() == "block" else i + 1
            return "_".join(parts[:end]) if end < len(parts) else None
    return None


@dataclass
class BlockGroup:
    """Consecutive layers of one model that share a block prefix: one foldable table."""

    name: str
    anchor: str
    items: list[Any]  # one LayerRun
    total: int = 0
    shown: int = 0
    start_open: bool = True
    kind: str = "block"

    @property
    def hidden(self) -> bool:
        return self.shown == 0

    @property
    def rows(self) -> list[Any]:
        return self.items[0].rows

    @property
    def params(self) -> int:
        return sum(row.layer.params for row in self.rows)

    @property
    def non_trainable_params(self) -> int:
        return sum(row.layer.non_trainable_params for row in self.rows)


def split_into_blocks(rows: list[Any], make_run, anchor_of) -> list[Any]:
    """A run's rows as plain runs and blocks, in order (`make_run(rows)` builds a run,
    `anchor_of(prefix)` names a block's fragment id)."""
    items: list[Any] = []
    for prefix, same in groupby(rows, key=lambda row: block_prefix(row.layer.name)):
        same = list(same)
        if prefix is not None and len(same) >= MIN_LAYERS:
            items.append(BlockGroup(prefix, anchor_of(prefix), [make_run(same)]))
        elif items and not isinstance(items[-1], BlockGroup):
            items[-1].rows.extend(same)
        else:
            items.append(make_run(same))
    return items
