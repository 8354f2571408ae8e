"""The diagnosis in a process of its own: `python -m app.diagnosis.process`.

It runs where the check's reference side runs, under the same discipline (a spawned
process with the job's limits, app.check.warm_reference's environment): it reads the model
with our own parser (the serving process never opens an upload's HDF5), runs the reference
forward and the catalogue's mistakes, and writes one JSON answer. No Keras here.

Protocol: one `DiagnosisRequest` line on stdin; the answer (`DiagnosisResult`) in
`result_path`; `{"event": "done"}` on stdout once it is written.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from app.analysis.reference import materialize_weights
from app.analysis.resolve import resolve
from app.check.inputs import make_inputs, planned_inputs
from app.check.reference_side import ALREADY_REHEARSED
from app.diagnosis.schemas import Diagnosis
from app.diagnosis.search import diagnose
from app.errors import ExplainerError
from app.formats import read_model, read_spec


class DiagnosisRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_path: str
    kind: Literal["file", "spec"]
    inputs_path: str | None = None  # inputs.npz (x0, ...), or None: the check's seeded inputs
    seed: int = 0
    yours_path: str  # .npz keyed by layer name, checked by the server (app.diagnosis.yours)
    keras_path: str | None = None  # Keras' values known for these inputs, by layer name
    tolerance: float
    against_note: str = ""
    result_path: str


class DiagnosisResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["ok", "error"]
    code: str | None = None
    message: str | None = None
    details: dict | None = None
    diagnosis: Diagnosis | None = None


def main() -> None:
    request = DiagnosisRequest.model_validate_json(sys.stdin.buffer.readline())
    try:
        result = DiagnosisResult(status="ok", diagnosis=run(request))
    except ExplainerError as exc:
        result = DiagnosisResult(
            status="error", code=exc.code, message=exc.message, details=exc.details
        )
    except Exception:  # a bug of ours: the traceback goes to stderr (the server log only)
        traceback.print_exc()
        result = DiagnosisResult(
            status="error", code="diagnosis-failed", message="The diagnosis failed on our side."
        )
    partial = request.result_path + ".partial"
    Path(partial).write_text(result.model_dump_json())
    os.replace(partial, request.result_path)
    sys.stdout.write(json.dumps({"event": "done"}) + "\n")
    sys.stdout.flush()


def run(request: DiagnosisRequest) -> Diagnosis:
    loader = read_model if request.kind == "file" else _read_spec
    with loader(Path(request.model_path), ALREADY_REHEARSED) as loaded:
        graph = loaded.graph
        resolve(graph, weights_in_file=request.kind == "file")
        weights = materialize_weights(graph, request.seed)
    inputs = _inputs(request, graph)
    yours = _npz(request.yours_path)
    keras = _npz(request.keras_path) if request.keras_path else {}
    return diagnose(graph, weights, inputs, yours, keras, request.tolerance, request.against_note)


def _read_spec(path: Path, limits):
    return read_spec(path.read_text(), limits)


def _inputs(request: DiagnosisRequest, graph) -> list[np.ndarray]:
    if request.inputs_path is None:
        return make_inputs(planned_inputs(graph), request.seed)[0]
    with np.load(request.inputs_path, allow_pickle=False) as npz:
        return [npz[f"x{i}"] for i in range(len(graph.inputs))]


def _npz(path: str) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


if __name__ == "__main__":
    main()
