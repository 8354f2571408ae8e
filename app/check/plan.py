"""What a check needs to know of a model, taken from its graph when the model is read.

A file's report is made in a throwaway process (app.isolation) and its check runs
later, from the serving process, which must not open the file itself. `ModelRead` carries
the little the check needs there, and crosses the process boundary as one pydantic model:
the safety scan's refusals, the budget figures (app.check.budgets), the model's inputs and
the plan: how to seed each input (app.check.inputs), which layers and outputs to compare, in
which order (app.check.compare), and the config keys Keras 3 refuses (app.check.keras3_copy:
the reference side writes a copy without them). Our reference side and the Keras worker read
the model in their own processes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from app.analysis.report import model_info
from app.check.budgets import BudgetFigures, measure
from app.check.compare import ComparedModel, compared_model
from app.check.inputs import PlannedInput, planned_inputs
from app.check.keras3_copy import sanitize
from app.graph import ModelGraph
from app.intake.refusals import Refusal
from app.schemas import InputInfo


class CheckPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: list[PlannedInput]
    compared: ComparedModel
    # Keys Keras 3 refuses: at their default (a copy without them can run), or not.
    keras3_removals: list[str] = []
    keras3_blockers: list[str] = []


def plan_check(graph: ModelGraph) -> CheckPlan:
    """The plan of a resolved graph."""
    _, removed, blockers = sanitize(graph.config)
    return CheckPlan(
        inputs=planned_inputs(graph),
        compared=compared_model(graph),
        keras3_removals=[r.sentence() for r in removed],
        keras3_blockers=[b.sentence() for b in blockers],
    )


class ModelRead(BaseModel):
    """What deciding on a check, and running it, needs: known once the model is read."""

    model_config = ConfigDict(extra="forbid")

    format: str
    refusals: list[Refusal]
    figures: BudgetFigures
    inputs: list[InputInfo]  # the model's Inputs, which a caller's inputs must fit
    plan: CheckPlan


def model_read(graph: ModelGraph, fmt: str, refusals: list[Refusal]) -> ModelRead:
    """What the check needs of a resolved graph, read from a file of format `fmt`."""
    inputs = model_info(graph).inputs
    return ModelRead(
        format=fmt, refusals=refusals, figures=measure(graph), inputs=inputs, plan=plan_check(graph)
    )
