"""What one layer call costs: multiply-accumulates (MACs) and floating-point operations (FLOPs).

The convention, stated once (the README and the OpenAPI description repeat it):

- A MAC is one product added into a sum: a contraction's inner step (Dense, convolutions,
  recurrent kernels, attention's scores and weighted sums, Dot). Element-wise products that
  are not summed (Multiply, a BatchNormalization scale) are not MACs.
- FLOPs = 2 × MACs + the layer's other arithmetic, one FLOP per element per step: a bias add,
  an activation function (whatever its own cost; `linear` none), a normalisation's per-element
  steps, a pooling window's comparisons or additions, a merge's element-wise operations.
- Batch 1, at the model's input sizes; an unknown dimension is counted at `UNKNOWN_DIM`
  (the size the manual-vs-predict check feeds by default), and the formula says so.
- Layers that only move data (reshapes, crops, padding, Concatenate, dropout at inference)
  cost 0.

A rule is `fn(config, inputs, outputs) -> Cost` with concrete shapes (batch 1, no None):
`inputs` one shape per input tensor, `outputs` one per output tensor. Rules are registered
by class name (`@cost("Dense")`) in the family modules of this package and the layer
registry puts each on its class's entry, as it does the forwards.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# The convention in one paragraph, for the API description and the pages.
CONVENTION = (
    "Costs are at batch 1 and the model's input sizes: an input's unknown dimensions count "
    "as 32, or the size the `unknown_dims` option sets per input, and the shapes are worked "
    "out from there (`totals.unknown_dims` states the size used). "
    "`macs` counts multiply-accumulates: products summed into an output (Dense, "
    "convolutions, recurrent kernels per step × steps, attention's contractions, Dot). "
    "`flops` is 2 × MACs plus the layer's other arithmetic, one per element per step: bias "
    "adds, activations (1 per element, whatever the function), normalisation, pooling "
    "comparisons or additions, element-wise merges. Reshapes, crops, padding, Concatenate "
    "and dropout at inference cost 0."
)

Shape = tuple[int, ...]
CostFn = Callable[[dict[str, Any], list[Shape], list[Shape]], "Cost"]

# The check's documented default for a dimension the graph leaves unknown
# (app.check.budgets.DEFAULT_UNKNOWN_DIM; analysis does not import the check).
UNKNOWN_DIM = 32

COSTS: dict[str, CostFn] = {}


def cost(*class_names: str) -> Callable[[CostFn], CostFn]:
    """Register `fn` as the cost rule of `class_names`."""

    def decorate(fn: CostFn) -> CostFn:
        for name in class_names:
            if name in COSTS:
                raise RuntimeError(f"cost rule for {name} registered twice")
            COSTS[name] = fn
        return fn

    return decorate


@dataclass(frozen=True)
class Cost:
    """`macs` with the text of its product (`112 × 112 × 64 outputs × (7 × 7 × 3)`), and the
    other FLOPs as (count, what) terms (`(802816, "bias adds")`)."""

    macs: int = 0
    macs_text: str = ""
    other: tuple[tuple[int, str], ...] = ()

    @property
    def flops(self) -> int:
        return 2 * self.macs + sum(n for n, _ in self.other)

    def __add__(self, more: Cost) -> Cost:
        text = " + ".join(t for t in (self.macs_text, more.macs_text) if t)
        return Cost(self.macs + more.macs, text, _merge(self.other + more.other))

    def times(self, n: int, what: str) -> Cost:
        """The cost repeated `n` times (`what`: "steps", "directions")."""
        if n == 1:
            return self
        text = f"{n} {what} × ({self.macs_text})" if self.macs_text else ""
        return Cost(
            self.macs * n, text, tuple((c * n, f"{w} over {n} {what}") for c, w in self.other)
        )

    def macs_formula(self) -> str:
        if not self.macs:
            return "0 MACs"
        if self.macs_text and self.macs_text != f"{self.macs:,}":
            return f"{self.macs_text} = {self.macs:,} MACs"
        return f"{self.macs:,} MACs"

    def flops_formula(self) -> str:
        terms = [f"2 × {self.macs:,} MACs"] if self.macs else []
        terms += [f"{n:,} {what}" for n, what in self.other if n]
        if not terms:
            return "0 FLOPs"
        return f"{' + '.join(terms)} = {self.flops:,} FLOPs"


def _merge(terms: tuple[tuple[int, str], ...]) -> tuple[tuple[int, str], ...]:
    merged: dict[str, int] = {}
    for n, what in terms:
        merged[what] = merged.get(what, 0) + n
    return tuple((n, what) for what, n in merged.items())


FREE = Cost()


def free(config: dict[str, Any], inputs: list[Shape], outputs: list[Shape]) -> Cost:
    """A layer that only moves or passes data: 0 MACs, 0 FLOPs."""
    return FREE


# Helpers -------------------------------------------------------------------------------


def size(shape: Sequence[int]) -> int:
    return math.prod(shape)


def dims(values: Sequence[int]) -> str:
    """`112 × 112 × 64`."""
    return " × ".join(str(v) for v in values) or "1"


def activation_term(config: dict[str, Any], elements: int, key: str = "activation") -> tuple:
    """One FLOP per element for an activation other than linear (none when absent)."""
    name = config.get(key, "linear")
    if isinstance(name, dict):  # a serialized function: {"config": "relu", ...}
        name = name.get("config", name.get("class_name"))
    if name in (None, "linear"):
        return ()
    return ((elements, f"{name} activation"),)


def bias_term(config: dict[str, Any], elements: int) -> tuple:
    return ((elements, "bias adds"),) if config.get("use_bias", True) else ()


def elementwise(what: str, per_element: int = 1) -> CostFn:
    """A rule counting `per_element` FLOPs on each output element, 0 MACs."""

    def rule(config: dict[str, Any], inputs: list[Shape], outputs: list[Shape]) -> Cost:
        return Cost(other=((per_element * sum(size(s) for s in outputs), what),))

    rule.__doc__ = f"{per_element} FLOP(s) per output element ({what}), 0 MACs."
    return rule
