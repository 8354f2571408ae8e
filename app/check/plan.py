"""What a check needs to know of a model, taken from its graph when the model is read.

A file's report is made in a throwaway process (app.isolation) and its check runs
later, from the serving process, which must not open the file itself. The plan carries the
little the check needs there (in a `ModelRead`, app.check.model_read): how to seed each input
(app.check.inputs), which layers and outputs to compare, in which order (app.check.compare),
and the config keys Keras 3 refuses (app.check.keras3_copy: the reference side writes a copy
without them). Our reference side and the Keras worker read the model in their own processes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from app.check.compare import ComparedModel, compared_model
from app.check.inputs import PlannedInput, planned_inputs
from app.check.keras3_copy import sanitize
from app.graph import ModelGraph


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
