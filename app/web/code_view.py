"""The reference's code on the report page: each function the model's layers run, once.

A layer's row names its forward (`core.dense`) and links here; every forward the model uses
and every helper those call is one collapsed block, so a ResNet's 53 Conv2D layers share one
copy of `convolution.conv2d` and the page stays light. The text is the report's own
(`LayerForward.code`, `Report.reference_code`): nothing here reads `app.reference`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from app.schemas import Report


@dataclass(frozen=True)
class CodeBlock:
    name: str  # `core.dense`, `forwards.weight`
    text: str
    layers: int = 0  # how many layers run it as their forward (0 for a helper)
    calls: list[str] = field(default_factory=list)


def code_anchor(name: str) -> str:
    return f"code-{name}"


def code_blocks(report: Report) -> list[CodeBlock]:
    """The forwards the layers run (in the order first met), then the helpers they call."""
    forwards = [layer.forward for layer in report.layers if layer.forward is not None]
    uses = Counter(f.function for f in forwards)
    blocks = {}
    for f in forwards:
        blocks.setdefault(f.function, CodeBlock(f.function, f.code, uses[f.function], f.helpers))
    helpers = [CodeBlock(name, text) for name, text in report.reference_code.items()]
    return [*blocks.values(), *(h for h in helpers if h.name not in blocks)]
