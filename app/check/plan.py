"""What a check needs to know of a model, taken from its graph when the model is read.

A file's report is made in a throwaway process (app.isolation) and its check runs
later, from the serving process, which must not open the file itself. The plan carries the
little the check needs there (in a `ModelRead`, app.check.model_read): how to seed each input
(app.check.inputs), which layers and outputs to compare, in which order (app.check.compare),
the config keys Keras 3 refuses (app.check.keras3_copy: the reference side writes a copy
without them), and the tf.keras op layers that keep Keras 3 from loading the model at all.
Our reference side and the Keras worker read the model in their own processes.
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, ConfigDict

from app.analysis.resolve import unsaved_layers
from app.check.compare import ComparedModel, compared_model
from app.check.inputs import PlannedInput, planned_inputs
from app.check.keras3_copy import Renamed, model_changes, sanitize
from app.check.keras3_files import misplaced_weights
from app.graph import ModelGraph
from app.layers.registry import traits_of


class CheckPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: list[PlannedInput]
    compared: ComparedModel
    # Keys Keras 3 refuses: at their default (a copy without them can run), or not.
    keras3_removals: list[str] = []
    keras3_blockers: list[str] = []
    # Names Keras 3 refuses, renamed in its copy: the copy's name → the file's.
    keras3_names: dict[str, str] = {}
    # tf.keras op layers (TFOpLambda, ...), which Keras 3 cannot load: `TFOpLambda ×72`.
    op_layers: list[str] = []
    # Layers whose weights the file lists but did not save: neither side can run the model.
    unsaved_weights: list[str] = []


def plan_check(graph: ModelGraph) -> CheckPlan:
    """The plan of a resolved graph."""
    _, removed, blockers = sanitize(graph.config)
    removed += model_changes(graph) + misplaced_weights(graph)
    return CheckPlan(
        inputs=planned_inputs(graph),
        compared=compared_model(graph),
        keras3_removals=[r.sentence() for r in removed],
        keras3_blockers=[b.sentence() for b in blockers],
        keras3_names={r.value: r.layer for r in removed if isinstance(r, Renamed)},
        op_layers=op_layer_counts(graph),
        unsaved_weights=unsaved_layers(graph),
    )


def op_layer_counts(graph: ModelGraph) -> list[str]:
    """The graph's tf.keras op layers by class, nested models included (`TFOpLambda ×72`)."""
    counts = Counter(
        node.class_name for _, node in graph.walk() if traits_of(node.class_name).op_layer
    )
    return [f"{name} ×{count}" for name, count in sorted(counts.items())]
