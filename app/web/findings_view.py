"""The report's weight findings as the page shows them under "What stands out": one block per
kind of finding, its layers listed with a link to their row in the layer table."""

from __future__ import annotations

from dataclasses import dataclass

from app.schemas import WeightFinding
from app.web.layer_view import ANCHOR_UNSAFE

TITLES = {
    "not-finite": "NaN or ±Inf values",
    "looks-untrained": "Looks untrained",
    "bias-all-zero": "Biases all zero",
    "dead-channels": "Dead channels",
    "identical-filters": "Identical filters",
}
WARN = ("not-finite", "looks-untrained", "dead-channels", "identical-filters")
SHOWN_OPEN = 3  # findings shown at once per kind; the others behind "N more"


@dataclass(frozen=True)
class FindingItem:
    where: str  # `block_1/conv/kernel`
    anchor: str  # the layer's row in the layer table
    finding: WeightFinding


@dataclass(frozen=True)
class FindingGroup:
    code: str
    title: str
    warn: bool
    shown: list[FindingItem]
    more: list[FindingItem]


def finding_groups(findings: list[WeightFinding]) -> list[FindingGroup]:
    """One group per code, in the order codes first appear; items in model order."""
    by_code: dict[str, list[FindingItem]] = {}
    for finding in findings:
        by_code.setdefault(finding.code, []).append(_item(finding))
    return [
        FindingGroup(
            code=code,
            title=TITLES.get(code, code),
            warn=code in WARN,
            shown=items[:SHOWN_OPEN],
            more=items[SHOWN_OPEN:],
        )
        for code, items in by_code.items()
    ]


def _item(finding: WeightFinding) -> FindingItem:
    layer = "/".join([*finding.path, finding.layer])
    where = f"{layer}/{finding.weight}" if finding.weight else layer
    return FindingItem(where, "layer-" + ANCHOR_UNSAFE.sub("-", layer), finding)
