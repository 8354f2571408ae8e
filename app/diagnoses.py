"""Diagnoses of a report: their numbers against Keras', run where the reference runs.

`Diagnoses.run(report, request)` reads their numbers (app.diagnosis.yours) and the inputs
(theirs, or the check's seeded ones), finds the model (the kept upload, or the same bytes
sent again: their sha256 must be the report's), and hands the work to a process of its own
(app.diagnosis.process): the serving process never opens an upload's HDF5 and never
imports Keras. Keras' own values go along where the stored check kept them (the model's
outputs, on the check's seeded inputs). A diagnosis is answered, not stored.
"""

from __future__ import annotations

import hashlib
import json
import queue
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app import errors
from app.check.inputs import PlannedInput, caller_inputs, make_inputs, read_caller_arrays
from app.check.keras.pool import job_limits
from app.check.keras.process import EOF, WorkerProcess
from app.check.keras.sandbox import apply_limits
from app.check.warm_reference import REFERENCE_NICENESS, blas_threads
from app.diagnosis import process as diagnosis_process
from app.diagnosis.process import DiagnosisRequest, DiagnosisResult
from app.diagnosis.schemas import Diagnosis
from app.diagnosis.yours import read_yours
from app.errors import ExplainerError, ModelNotKept
from app.explain import file_digest
from app.schemas import Report

MAX_FILE_BYTES = 1 << 30


@dataclass
class DiagnosisAsk:
    """What a caller sent: their numbers, optionally inputs and the model again."""

    yours_path: Path | None = None
    yours_json: Any = None
    inputs_path: Path | None = None
    inputs_json: Any = None
    model_path: Path | None = None
    spec: Any = None


class Diagnoses:
    def __init__(
        self, work_dir: Path, uploads_dir: Path | None, tolerance: float, timeout_s: float
    ):
        self.work_dir, self.uploads_dir = Path(work_dir), uploads_dir
        self.tolerance, self.timeout_s = tolerance, timeout_s

    def read(self, report: Report, ask: DiagnosisAsk) -> dict[str, np.ndarray]:
        """Their numbers, checked against the report alone (layer names, numbers, finite):
        what can be refused before the model runs, or is stored."""
        layers = [
            layer.name
            for layer in report.layers
            if not layer.path and layer.class_name != "InputLayer"
        ]
        outputs = [o.name for o in report.model.outputs]
        return read_yours(layers, outputs, ask.yours_path, ask.yours_json)

    def run(self, report: Report, ask: DiagnosisAsk) -> Diagnosis:
        yours = self.read(report, ask)
        folder = Path(tempfile.mkdtemp(prefix="diagnosis-", dir=self._dir()))
        try:
            request = self._request(report, ask, yours, folder)
            return _run_process(request, self.timeout_s)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _dir(self) -> Path:
        path = self.work_dir / "diagnoses"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _request(self, report: Report, ask: DiagnosisAsk, yours, folder: Path) -> DiagnosisRequest:
        kind, model_path = self._model(report, ask, folder)
        np.savez(folder / "yours.npz", **yours)
        seeded = ask.inputs_path is None and ask.inputs_json is None
        inputs_path = None if seeded else _write_inputs(report, ask, folder)
        if seeded and report.check.inputs is not None and report.check.inputs.source == "caller":
            raise errors.InvalidRequest(
                "This report's check ran on your own inputs, which are not kept: send them "
                "again as `inputs` with your numbers.",
                {"field": "inputs"},
            )
        keras = _keras_values(report, yours) if seeded else {}
        keras_path = None
        if keras:
            keras_path = folder / "keras.npz"
            np.savez(keras_path, **keras)
        return DiagnosisRequest(
            model_path=str(model_path),
            kind=kind,
            inputs_path=str(inputs_path) if inputs_path else None,
            seed=_seed(report),
            yours_path=str(folder / "yours.npz"),
            keras_path=str(keras_path) if keras_path else None,
            tolerance=self.tolerance,
            against_note=against_note(report, seeded, bool(keras)),
            result_path=str(folder / "result.json"),
        )

    def _model(self, report: Report, ask: DiagnosisAsk, folder: Path) -> tuple[str, Path]:
        kept = self.uploads_dir / report.id if self.uploads_dir is not None else None
        if kept is not None and kept.is_file():
            return "file", kept
        if ask.model_path is not None and file_digest(ask.model_path)[0] == report.source.sha256:
            return ("spec" if report.source.format == "spec_json" else "file"), ask.model_path
        if ask.spec is not None:
            spec = ask.spec
            text = spec if isinstance(spec, str) else json.dumps(spec, sort_keys=True)
            if hashlib.sha256(text.encode()).hexdigest() == report.source.sha256:
                (folder / "spec.json").write_text(text)
                return "spec", folder / "spec.json"
        raise ModelNotKept(
            "This server does not keep model files (KEX_KEEP_UPLOADS), so send the model "
            "again with your numbers: the same bytes as `file` (or the same `spec`).",
            {"field": "file", "sha256": report.source.sha256},
        )


def _write_inputs(report: Report, ask: DiagnosisAsk, folder: Path) -> Path:
    infos = report.model.inputs
    arrays = read_caller_arrays(infos, path=ask.inputs_path, value=ask.inputs_json)
    checked, _ = caller_inputs(infos, arrays)
    path = folder / "inputs.npz"
    np.savez(path, **{f"x{i}": a for i, a in enumerate(checked)})
    return path


def _seed(report: Report) -> int:
    inputs = report.check.inputs
    return inputs.seed if inputs is not None and inputs.seed is not None else 0


def _keras_values(report: Report, yours: dict) -> dict[str, np.ndarray]:
    """Keras' own outputs as the stored check kept them, for the tensors they sent."""
    if report.check.status not in ("passed", "failed"):
        return {}
    found = {}
    for output in report.check.outputs:
        if output.name in yours and output.keras is not None:
            found[output.name] = np.asarray(output.keras, dtype=np.float32)
    return found


def against_note(report: Report, seeded: bool, keras: bool) -> str:
    check = report.check
    if check.status == "passed":
        where = "on these inputs" if seeded else "on the check's inputs"
        own = "Keras' own values for the model's outputs, and " if keras else ""
        return (
            f"Compared with {own}our reference forward, which the check found equal to Keras "
            f"within {check.tolerance:g} of each layer's scale {where}."
        )
    return (
        f"The check has not passed (status {check.status}): compared with "
        + ("Keras' own values for the model's outputs and " if keras else "")
        + "our reference forward, which the check finds equal to Keras on the corpus and "
        "on every keras.applications model, not with Keras itself."
    )


def _run_process(request: DiagnosisRequest, timeout_s: float) -> Diagnosis:
    process = WorkerProcess.spawn(
        diagnosis_process.__name__, blas_threads(), niceness=REFERENCE_NICENESS
    )
    try:
        apply_limits(process.pid, job_limits(timeout_s, MAX_FILE_BYTES))
        process.send((request.model_dump_json() + "\n").encode())
        if not _wait_done(process, time.monotonic() + timeout_s):
            process.kill("timeout")
            raise errors.DiagnosisTimeout(
                f"The diagnosis took longer than {timeout_s:g} s.", {"timeout_s": timeout_s}
            )
        result = DiagnosisResult.model_validate_json(Path(request.result_path).read_bytes())
    finally:
        process.reap()
    if result.status == "error" or result.diagnosis is None:
        raise _error(result)
    return result.diagnosis


def _wait_done(process: WorkerProcess, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            event = process.events.get(timeout=0.1)
        except queue.Empty:
            continue
        if event is EOF:
            return False
        if isinstance(event, dict) and event.get("event") == "done":
            return True
    return False


def _error(result: DiagnosisResult) -> ExplainerError:
    """The process's error as the class of its code (a 4xx), or a 500 for a bug of ours."""
    for cls in errors.all_error_classes():
        if cls.code == result.code:
            return cls(result.message or "", result.details or {})
    raise RuntimeError(f"the diagnosis process failed: {result.code}")


def seeded_inputs(report: Report) -> dict[str, np.ndarray]:
    """The check's seeded inputs (x0, x1, ...), drawn again from the report alone: each
    Input's shape and dtype, the seed, and the vocabulary of an Embedding it feeds directly
    (app.check.inputs.make_inputs, the check's own draw)."""
    check_inputs = report.check.inputs
    if check_inputs is None or check_inputs.source != "seeded":
        raise errors.InvalidRequest(
            "This report's check did not run on seeded inputs (it ran on the caller's own, "
            "or did not run), so there are none to download.",
            {"field": "inputs"},
        )
    planned = [_planned(report, info) for info in report.model.inputs]
    arrays, _ = make_inputs(planned, _seed(report))
    return {f"x{i}": a for i, a in enumerate(arrays)}


def _planned(report: Report, info) -> PlannedInput:
    consumers = [layer for layer in report.layers if not layer.path and info.name in layer.inbound]
    if any(layer.is_model for layer in consumers):
        raise errors.InvalidRequest(
            f"The Input {info.name!r} feeds a nested model: its seeded inputs are not drawn "
            "again here; send your own inputs with your numbers.",
            {"field": "inputs", "input": info.name},
        )
    vocabularies = [
        layer.weights[0].shape[0]
        for layer in consumers
        if layer.class_name == "Embedding" and layer.weights
    ]
    shape = info.shape if isinstance(info.shape, list) and info.shape else None
    return PlannedInput(
        name=info.name,
        batch_shape=shape,
        dtype=info.dtype,
        vocabulary=min(vocabularies) if vocabularies else None,
    )
