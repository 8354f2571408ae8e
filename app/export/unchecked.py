"""The program of a report whose check did not run (check=false, or a service without Keras
workers): written when the report is made, from the weights our own reader reads in the file.

    write_unchecked(folder, path, limits, seed)

The file is read again in a throwaway process (app.isolation): the serving process never opens
an upload's HDF5 and never imports Keras. The inputs are the check's seeded draw (the seed
the check would use); there is no expected.npz, and the README says Keras did not run. What
keeps the program from being written is recorded (`export.json`) for the route to say; it
never fails the report.

Not written here: a spec without weights (its weights would be the check's seeded draws:
the route asks for the check, `export-needs-check`); a model the safety scan refuses, as its
check would be (`export-refused`); a file that did not save some of its weights.
"""

from __future__ import annotations

import logging
from pathlib import Path

from app import isolation
from app.analysis.reference import materialize_weights
from app.analysis.resolve import resolve
from app.check.inputs import make_inputs
from app.check.model_read import ModelRead, model_read
from app.errors import ExplainerError
from app.export.bundle import (
    ExportRecord,
    record_export,
    record_writing,
    refuse_over_cap,
    write_program,
)
from app.formats import ReadLimits, read_model
from app.graph import ModelGraph

logger = logging.getLogger(__name__)


def write_unchecked(folder: Path, path: Path, limits: ReadLimits, seed: int) -> None:
    """Write the program of the model file at `path` into `folder`, or record why not."""
    try:
        if limits.isolate_hdf5:
            isolation.run_task(unchecked_task, path, limits, folder=str(folder), seed=seed)
        else:  # limits that read files in this process (isolate_hdf5 off: a trusted caller)
            write_here(folder, path, limits, seed)
    except ExplainerError as exc:  # the reading process hung, ran out of memory or crashed
        record_export(folder, ExportRecord(status="failed", code=exc.code, message=exc.message))
    except Exception:  # a bug of ours: logged; the report stands
        logger.exception("writing the program of %s failed", path)
        record_export(folder, ExportRecord(status="failed", code="export-failed"))


@isolation.task
def unchecked_task(
    path: Path, limits: ReadLimits, early: isolation.Early, folder: str, seed: int
) -> dict:
    """`write_here`, in the throwaway process."""
    write_here(Path(folder), path, limits, seed)
    return {}


def write_here(folder: Path, path: Path, limits: ReadLimits, seed: int) -> None:
    with read_model(path, limits) as loaded:
        graph = loaded.graph
        resolve(graph, weights_in_file=True)
        read = model_read(graph, loaded.format, loaded.refusals)
        refused = refusal(read)
        if refused is not None:
            record_export(folder, refused)
            return
        record_writing(folder, lambda: _write(folder, graph, read, seed))


def refusal(read: ModelRead) -> ExportRecord | None:
    """What the check would refuse, refused here too: a model the safety scan keeps from
    Keras (a Lambda, a custom class), a file without some of its weights' values."""
    if read.refusals:
        first = read.refusals[0]
        return ExportRecord(status="refused", code=first.code, message=first.reason)
    if read.plan.unsaved_weights:
        layers = ", ".join(read.plan.unsaved_weights[:8])
        message = (
            f"the file stores no values for the weights of {layers}, so the model cannot be "
            "run as saved."
        )
        return ExportRecord(status="refused", code="weights-not-saved", message=message)
    return None


def _write(folder: Path, graph: ModelGraph, read: ModelRead, seed: int) -> None:
    refuse_over_cap(sum(w.nbytes for _, node in graph.walk() for w in node.weights))
    inputs, _ = make_inputs(read.plan.inputs, seed)
    write_program(
        folder,
        graph,
        materialize_weights(graph, seed),
        inputs,
        seeded_weights=False,
        tolerance=None,
        checked=False,
    )
