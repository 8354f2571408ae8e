"""What a check needs to know of a model, taken from its graph when the model is read.

A file's report is made in a throwaway process (app.intake.rehearsal) and its check runs
later, from the serving process, which must not open the file itself. The plan carries the
little the check needs there: how to seed each input (app.analysis.inputs) and which layers
and outputs to compare, in which order (app.analysis.compare). Our reference job and the
Keras worker read the model in their own processes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from app.analysis.compare import ComparedModel, compared_model
from app.analysis.inputs import PlannedInput, planned_inputs
from app.graph import ModelGraph


class CheckPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: list[PlannedInput]
    compared: ComparedModel


def plan_check(graph: ModelGraph) -> CheckPlan:
    """The plan of a resolved graph."""
    return CheckPlan(inputs=planned_inputs(graph), compared=compared_model(graph))
