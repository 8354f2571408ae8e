"""The reference side of a check, in a process of its own: `python -m app.check.reference_side`.

Our own parser reads the model (it already passed the safety scan), our NumPy forward runs it.
No Keras here either; the process exists so that a check's weights and activations never
sit in the serving process, and so that a fault in it cannot take the server down.

Protocol: one `ReferenceRequest` line on stdin; JSON event lines on stdout:

    {"event": "prepared"}   the model is read and, for a spec, weights.npz (w0, ...) is
                            written, for a Keras 2 file that needs it, its Keras 3 copy
                            (app.check.keras3_copy): the Keras side can start (a file's
                            starts at once when it needs no copy)
    {"event": "done"}       reference.json and reference/<i>.npy are written

`reference.json` is a `ReferenceResult`: each layer's outputs (every call's tensors, in order)
and the model's outputs as .npy paths, and the time of the forward; or a code and a sentence
when something failed. The inputs (`inputs.npz`: x0, x1, ...) are the check's, written before.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from app.analysis.batchnorm import BN_CLASSES
from app.analysis.reference import materialize_weights, run_reference
from app.analysis.resolve import resolve
from app.check import lifeline
from app.check.batchnorm_modes import batchnorm_modes
from app.check.folder import CheckFolder
from app.check.keras import write_arrays
from app.check.keras3_files import write_keras3_copy
from app.errors import ExplainerError, UnsupportedModel
from app.export.bundle import record_writing, write_program
from app.formats import LoadedModel, ReadLimits, read_model, read_spec
from app.schemas import BatchNormModes

ALREADY_REHEARSED = ReadLimits(isolate_hdf5=False)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReferenceRequest(_Strict):
    folder: str  # the check's folder (app.check.folder)
    model_path: str  # the model file, or the spec's JSON text in a file
    kind: Literal["file", "spec"]
    format: str
    mode: Literal["inference", "training"]
    seed: int
    keras3_copy: bool = False  # write the file without the keys Keras 3 refuses, first
    tolerance: float | None = None  # the check's, which the exported program states


class ReferenceResult(_Strict):
    status: Literal["ok", "error"]
    code: str | None = None
    message: str | None = None
    layers: dict[str, list[str]] = {}
    outputs: list[str] = []
    reference_s: float | None = None
    batchnorm: list[BatchNormModes] = []


def main() -> None:
    request = ReferenceRequest.model_validate_json(sys.stdin.buffer.readline())
    lifeline.hold()  # the check's end (even its process's SIGKILL) ends this one
    folder = CheckFolder(Path(request.folder))
    try:
        result = run(request, folder)
    except ExplainerError as exc:
        result = ReferenceResult(status="error", code=exc.code, message=exc.message)
    except Exception:  # a bug of ours: the traceback goes to stderr (the server log only)
        traceback.print_exc()
        result = ReferenceResult(
            status="error",
            code="reference-failed",
            message="Our reference forward failed on this model; the error was logged.",
        )
    write_result(folder, result)
    _event("done")


def run(request: ReferenceRequest, folder: CheckFolder) -> ReferenceResult:
    """Read, prepare inputs (and a spec's weights or a file's Keras 3 copy), say so, run the
    forward, write outputs."""
    if request.keras3_copy:
        write_keras3_copy(Path(request.model_path), request.format, folder.keras3_copy)
    with _load(request) as loaded:
        graph = loaded.graph
        resolve(graph, weights_in_file=request.kind == "file")
        inputs = read_inputs(folder, len(graph.inputs))
        weights = materialize_weights(graph, request.seed)
        if request.kind == "spec":
            write_arrays(folder.weights, "w", weights)
    _event("prepared")
    export_program(folder, graph, weights, inputs, request)
    training = request.mode == "training"
    start = time.perf_counter()
    run_ = run_reference(graph, weights, inputs, training=training)
    elapsed = time.perf_counter() - start
    layers, outputs = _write_outputs(folder, run_.layers, run_.outputs)
    return ReferenceResult(
        status="ok",
        layers=layers,
        outputs=outputs,
        reference_s=round(elapsed, 4),
        batchnorm=_both_modes(graph, weights, inputs, run_.layers, training),
    )


def export_program(folder: CheckFolder, graph, weights, inputs, request: ReferenceRequest) -> None:
    """The standalone program (app.export), written while the model is in hand; what keeps
    it from being written is recorded for the route to say, and never stops the check."""
    record_writing(
        folder.export,
        lambda: write_program(
            folder.export,
            graph,
            weights,
            inputs,
            seeded_weights=request.kind == "spec",
            tolerance=request.tolerance,
        ),
    )


def _both_modes(graph, weights, inputs, ran: dict, training: bool) -> list[BatchNormModes]:
    """BatchNormalization layers in both modes: `ran` is one, a second run gives the other."""
    if not any(node.class_name in BN_CLASSES for node in graph.keras_layers()):
        return []
    try:
        other = run_reference(graph, weights, inputs, training=not training).layers
    except UnsupportedModel:
        # The other mode cannot be run (a RandomFlip in training mode draws at random): the
        # check of the mode asked for stands; only this side-by-side view is left out.
        return []
    inference, training_outputs = (other, ran) if training else (ran, other)
    return batchnorm_modes(graph, inputs, inference, training_outputs)


def _load(request: ReferenceRequest) -> LoadedModel:
    """These bytes were read in a throwaway process when the report was made, and this one is itself
    limited (time, memory): no second throwaway process."""
    if request.kind == "file":
        return read_model(Path(request.model_path), ALREADY_REHEARSED)
    return read_spec(Path(request.model_path).read_text(), ALREADY_REHEARSED)


def read_inputs(folder: CheckFolder, count: int) -> list[np.ndarray]:
    """x0, x1, ... from inputs.npz (written by the check before this process started)."""
    with np.load(folder.inputs, allow_pickle=False) as npz:
        return [npz[f"x{i}"] for i in range(count)]


def _write_outputs(
    folder: CheckFolder, layers: dict[str, list[list[np.ndarray]]], outputs: list[np.ndarray]
) -> tuple[dict[str, list[str]], list[str]]:
    folder.reference_outputs.mkdir(exist_ok=True)
    counter = iter(range(1 << 30))

    def save(array: np.ndarray) -> str:
        path = f"{folder.REFERENCE_OUTPUTS}/{next(counter)}.npy"
        np.save(folder.path / path, np.asarray(array), allow_pickle=False)
        return path

    written = {name: [save(t) for call in calls for t in call] for name, calls in layers.items()}
    return written, [save(t) for t in outputs]


def write_result(folder: CheckFolder, result: ReferenceResult) -> None:
    partial = folder.path / (folder.REFERENCE_RESULT + ".partial")
    partial.write_text(result.model_dump_json())
    os.replace(partial, folder.reference_result)


def _event(name: str) -> None:
    sys.stdout.write(json.dumps({"event": name}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
