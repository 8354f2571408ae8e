"""The program of a report whose check did not run (check=false, or a service without Keras
workers): written just after the report is made (app.reports, off the request), from the
weights our own reader reads in the file.

    write_unchecked(folder, path, limits, inputs, refusals, unsaved_weights)

The file is read again in a throwaway process (app.isolation): the serving process never opens
an upload's HDF5 and never imports Keras. The inputs are the check's seeded draw, made by the
caller (app.reports, from the model read); there is no expected.npz, and the README says
Keras did not run. What keeps the program from being written is recorded (`export.json`) for
the route to say; it never fails the report.

Not written here: a spec without weights (its weights would be the check's seeded draws:
the route asks for the check, `export-needs-check`); a model the safety scan refuses, as its
check would be (`export-refused`); a file that did not save some of its weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app import isolation
from app.analysis.reference import materialize_weights
from app.analysis.resolve import resolve
from app.export.bundle import (
    ExportRecord,
    failures_recorded,
    record_export,
    record_writing,
    refuse_over_cap,
    write_program,
)
from app.formats import ReadLimits, read_model
from app.graph import ModelGraph
from app.safety.refusals import Refusal

# The upload, linked into the program's folder while the program is written from it.
UNCHECKED_MODEL = ".model"


def write_unchecked(
    folder: Path,
    path: Path,
    limits: ReadLimits,
    inputs: Sequence[np.ndarray],
    refusals: Sequence[Refusal] = (),
    unsaved_weights: Sequence[str] = (),
) -> None:
    """Write the program of the model file at `path` into `folder`, on `inputs` (the check's
    seeded draw), or record why not: the safety scan's `refusals`, the layers whose weights
    the file did not save (the model read, app.check.model_read)."""
    refused = refusal(refusals, unsaved_weights)
    if refused is not None:
        record_export(folder, refused)
        return
    arrays = [np.asarray(x) for x in inputs]
    with failures_recorded(folder, f"writing the program of {path}"):
        if limits.isolate_hdf5:
            isolation.run_task(unchecked_task, path, limits, folder=str(folder), inputs=arrays)
        else:  # limits that read files in this process (isolate_hdf5 off: a trusted caller)
            write_here(folder, path, limits, arrays)


@isolation.task
def unchecked_task(
    path: Path, limits: ReadLimits, early: isolation.Early, folder: str, inputs: list
) -> dict:
    """`write_here`, in the throwaway process."""
    write_here(Path(folder), path, limits, inputs)
    return {}


def write_here(folder: Path, path: Path, limits: ReadLimits, inputs: list[np.ndarray]) -> None:
    with read_model(path, limits) as loaded:
        graph = loaded.graph
        resolve(graph, weights_in_file=True)
        record_writing(folder, lambda: _write(folder, graph, inputs))


def refusal(refusals: Sequence[Refusal], unsaved_weights: Sequence[str]) -> ExportRecord | None:
    """What the check would refuse, refused here too: a model the safety scan keeps from
    Keras (a Lambda, a custom class), a file without some of its weights' values."""
    if refusals:
        first = refusals[0]
        return ExportRecord(status="refused", code=first.code, message=first.reason)
    if unsaved_weights:
        layers = ", ".join(unsaved_weights[:8])
        message = (
            f"the file stores no values for the weights of {layers}, so the model cannot be "
            "run as saved."
        )
        return ExportRecord(status="refused", code="weights-not-saved", message=message)
    return None


def _write(folder: Path, graph: ModelGraph, inputs: list[np.ndarray]) -> None:
    refuse_over_cap(sum(w.nbytes for _, node in graph.walk() for w in node.weights))
    write_program(
        folder,
        graph,
        materialize_weights(graph),  # every value stored: `refusal` let no unsaved weight by
        inputs,
        seeded_weights=False,
        tolerance=None,
        checked=False,
    )
