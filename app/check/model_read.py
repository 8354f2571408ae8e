"""What the check needs once the model is read, sent from the process that read it.

The explanation (app.explain) makes a `ModelRead` as soon as the graph is resolved, before the
report's statistics; the caller decides on the check with it (app.check.admission). It
crosses the process boundary as one pydantic model, serialised once and validated on
arrival: the throwaway process that made it read a file a hostile party may have written.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from app.analysis.report import model_info
from app.check.budgets import BudgetFigures, measure
from app.check.plan import CheckPlan, plan_check
from app.graph import ModelGraph
from app.safety.refusals import Refusal
from app.schemas import InputInfo


class ModelRead(BaseModel):
    """What deciding on a check, and running it, needs: known once the model is read."""

    model_config = ConfigDict(extra="forbid")

    format: str
    refusals: list[Refusal]  # the safety scan's: why the model must never run in Keras
    figures: BudgetFigures  # what running it would cost (app.check.budgets)
    inputs: list[InputInfo]  # the model's Inputs, which a caller's inputs must fit
    plan: CheckPlan
    subclass: str | None = None  # a subclassed keras.Model: Keras is never asked to load it
    # Multiply-accumulates of one sample's forward (the report's totals.macs; 0: not
    # counted): what the check's timeout follows (app.check.admission.check_timeout).
    macs: int = 0


def model_read(graph: ModelGraph, fmt: str, refusals: list[Refusal], macs: int = 0) -> ModelRead:
    """What the check needs of a resolved graph, read from a file of format `fmt`; `macs`:
    its forward's, counted by the report's costs (app.analysis.costs)."""
    inputs = model_info(graph).inputs
    return ModelRead(
        format=fmt,
        refusals=refusals,
        figures=measure(graph),
        inputs=inputs,
        plan=plan_check(graph),
        subclass=graph.subclass,
        macs=macs,
    )
