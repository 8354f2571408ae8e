"""The exported program's folder: what `GET /api/v1/reports/{id}/forward` zips and
`keras-explainer export` writes.

    model_forward.py   the program (app.export.program)
    weights.npz        every weight, keyed `layer_name/role` (`layer_name/<its name>` where
                       two weights of a layer share a role: Bidirectional's two kernels)
    inputs.npy         the check's inputs (inputs.npz, x0, x1, ... for several Inputs)
    expected.npz       y0, y1, ...: what Keras' predict returned for them, when it ran;
                       note0, ...: the check's note on an output it passed on Keras' own
                       inputs while over the tolerance end to end
    README.txt         how to run it, and where the weights come from

Written by the check's reference side, which holds the model, its weights and the inputs
(`write_program`); Keras' outputs are added once the Keras side answered (`add_expected`).
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from app.errors import ExplainerError, ExportUnavailable
from app.export.program import program_text
from app.graph import LayerNode, ModelGraph

logger = logging.getLogger(__name__)

PROGRAM = "model_forward.py"
WEIGHTS = "weights.npz"
INPUTS = "inputs.npy"
INPUTS_SEVERAL = "inputs.npz"
EXPECTED = "expected.npz"
README = "README.txt"
RECORD = "export.json"  # not part of the zip: whether the program was written
FILES = (PROGRAM, WEIGHTS, INPUTS, INPUTS_SEVERAL, EXPECTED, README)
# The reference process may write files of 1 GiB at most (app.check.pipeline): weights.npz
# stays well under it, and a model past it is explained and checked, not exported.
MAX_WEIGHT_BYTES = 512 << 20


def write_program(
    folder: Path,
    graph: ModelGraph,
    weights: Sequence[np.ndarray],
    inputs: Sequence[np.ndarray],
    *,
    seeded_weights: bool,
    tolerance: float | None,
    checked: bool = True,
) -> None:
    """Write everything but Keras' outputs into `folder` (made here); raises
    `UnsupportedModel` (naming the classes or the layer) or `ExportUnavailable` (weights over
    MAX_WEIGHT_BYTES) before writing anything. `checked`: a check runs beside it (False: the
    README says Keras did not run, and the inputs are the check's seeded draw)."""
    refuse_over_cap(sum(np.asarray(w).nbytes for w in weights))
    title = f"{graph.name}: {graph.class_name} model"
    text = program_text(graph, tolerance, title)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / PROGRAM).write_text(text, encoding="utf-8")
    np.savez(folder / WEIGHTS, **weight_table(graph, weights))
    if len(inputs) == 1:
        np.save(folder / INPUTS, np.asarray(inputs[0]), allow_pickle=False)
    else:
        np.savez(folder / INPUTS_SEVERAL, **{f"x{i}": x for i, x in enumerate(inputs)})
    (folder / README).write_text(
        readme(graph, seeded_weights, expected=False, checked=checked), encoding="utf-8"
    )


def refuse_over_cap(total: int) -> None:
    """`ExportUnavailable` when weights of `total` bytes are more than a program holds."""
    if total > MAX_WEIGHT_BYTES:
        raise ExportUnavailable(
            f"its weights take {total / 2**20:,.0f} MiB, over the {MAX_WEIGHT_BYTES >> 20:,} "
            "MiB an exported program holds.",
            {"weight_bytes": total, "max_weight_bytes": MAX_WEIGHT_BYTES},
        )


def add_expected(
    folder: Path, outputs: Sequence[np.ndarray], notes: Sequence[str | None] = ()
) -> None:
    """Keras' outputs for the same inputs, and the README that says they are there; nothing
    when no program was written. `notes`: the check's `outputs[].note`, one per output, set
    on an output over the tolerance end to end whose layer passed on Keras' own inputs
    (app.check.rejudge): kept as `note<i>`, the program says it and passes that output, as
    the check did, instead of telling its user it disagrees with the check."""
    if not (folder / PROGRAM).is_file():
        return
    arrays = {f"y{i}": np.asarray(y) for i, y in enumerate(outputs)}
    arrays |= {f"note{i}": np.array(note) for i, note in enumerate(notes) if note is not None}
    np.savez(folder / EXPECTED, **arrays)
    text = (folder / README).read_text(encoding="utf-8")
    (folder / README).write_text(text.replace(NO_EXPECTED, WITH_EXPECTED), encoding="utf-8")


class ExportRecord(BaseModel):
    """Whether the program was written (`export.json`), and if not, why: what the route says."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["writing", "written", "refused", "failed"]
    code: str | None = None
    message: str | None = None


def record_export(folder: Path, record: ExportRecord) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RECORD).write_text(record.model_dump_json(), encoding="utf-8")


def record_writing(folder: Path, write: Callable[[], None]) -> None:
    """Call `write` (which writes the program into `folder`) and record what came of it: what
    keeps the program from being written is recorded for the route to say, never raised."""
    try:
        write()
    except ExplainerError as exc:
        record_export(folder, ExportRecord(status="refused", code=exc.code, message=exc.message))
    except Exception:  # a bug of ours: logged; what the caller does goes on
        logger.exception("writing the program into %s failed", folder)
        record_export(folder, ExportRecord(status="failed", code="export-failed"))
    else:
        record_export(folder, ExportRecord(status="written"))


@contextmanager
def failures_recorded(folder: Path, doing: str) -> Iterator[None]:
    """Record what keeps the program in `folder` from being written as `failed`, never
    raised: an error of ours with its code and sentence (the reading process hung, ran out
    of memory or crashed), any other (a bug of ours) logged as `doing` failed."""
    try:
        yield
    except ExplainerError as exc:
        record_export(folder, ExportRecord(status="failed", code=exc.code, message=exc.message))
    except Exception:  # a bug of ours: logged; what the caller does goes on
        logger.exception("%s failed", doing)
        record_export(folder, ExportRecord(status="failed", code="export-failed"))


def read_record(folder: Path) -> ExportRecord | None:
    """The record of a kept export folder; None when there is none."""
    try:
        return ExportRecord.model_validate_json((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def weight_table(graph: ModelGraph, weights: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """`layer/role` -> array (`layer/<weight name>` where the role is not unique in the layer)."""
    table: dict[str, np.ndarray] = {}
    for _, node in graph.walk():
        for key, index in _layer_keys(node):
            table[f"{node.name}/{key}"] = np.asarray(weights[index])
    return table


def _layer_keys(node: LayerNode) -> list[tuple[str, int]]:
    roles = Counter(w.role for w in node.weights)
    return [
        (w.role if roles[w.role] == 1 else w.name, w.index)  # type: ignore[misc]
        for w in node.weights
    ]


def export_folder(exports_dir: Path, report_id: str) -> Path:
    """Where a report's program is kept (report ids are the service's own)."""
    return exports_dir / report_id


def zipped(folder: Path) -> bytes:
    """The folder's files as one zip, under a folder named `model_forward/`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in FILES:
            if (folder / name).is_file():
                archive.write(folder / name, f"model_forward/{name}")
    return buffer.getvalue()


NO_EXPECTED = (
    "Keras did not run this model here (see the report's check), so there is no\n"
    "expected.npz: the program prints its outputs only.\n"
)
WITH_EXPECTED = (
    "expected.npz holds what Keras' predict returned for inputs.npy; run without arguments,\n"
    "the program also prints the largest difference from it, and exits 1 when it is over\n"
    "the check's tolerance. An output the check passed although it is over the tolerance\n"
    "end to end (its layer within it on Keras' own inputs: the network amplifies float32\n"
    "rounding by itself) is said so, with the check's note, and does not make it exit 1.\n"
)
NOT_CHECKED = (
    "The check did not run for this report (check=false, or a service without Keras\n"
    "workers): there are no Keras outputs to compare with (no expected.npz), and the program\n"
    "prints its outputs only. inputs.npy holds seeded inputs, drawn as the check draws them;\n"
    "to compare, run your own Keras' model.predict on them.\n"
)


def readme(graph: ModelGraph, seeded_weights: bool, expected: bool, checked: bool = True) -> str:
    weights_line = (
        "The model was sent as a spec without weights: weights.npz holds the weights the check\n"
        "made (seeded draws of each initializer), not trained values.\n"
        if seeded_weights
        else "weights.npz holds the weights the model file stores.\n"
    )
    keras_lines = (WITH_EXPECTED if expected else NO_EXPECTED) if checked else NOT_CHECKED
    return f"""{graph.name}: a standalone NumPy forward, written by keras-explainer

Run it (Python 3.10 or newer, NumPy only):

    python model_forward.py            # on the check's inputs (inputs.npy / inputs.npz)
    python model_forward.py x.npy      # on your own inputs (.npz with x0, x1, ... for several)

{keras_lines}
{weights_line}
Files:
    model_forward.py  the functions keras-explainer's reference runs for the layer classes of
                      this model, copied as written, and forward(inputs, weights): one line
                      per layer call, in the order Keras runs them
    weights.npz       every weight, keyed layer_name/role (kernel, bias, gamma, beta,
                      moving_mean, moving_variance, ...)
    inputs.npy        the check's inputs
    expected.npz      y0, y1, ...: Keras' outputs for them, when Keras ran the model;
                      note0, ...: the check's note on an output it passed on Keras' own
                      inputs while over the tolerance end to end

From Python:

    import numpy as np, model_forward
    weights = dict(np.load("weights.npz"))
    outputs = model_forward.forward([np.load("inputs.npy")], weights)
"""
