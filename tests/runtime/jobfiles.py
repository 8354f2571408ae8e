"""Job folders for runtime tests: a model, its inputs, optional weights, and the request."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.check.keras import JobRequest, write_arrays


def file_job(job_dir: Path, model, inputs: list[np.ndarray], mode: str = "inference") -> JobRequest:
    """A ``kind="file"`` job: ``model`` saved as ``job_dir/model.keras``."""
    job_dir.mkdir(parents=True, exist_ok=True)
    model.save(job_dir / "model.keras")
    return _request(job_dir, job_dir / "model.keras", "file", inputs, mode)


def spec_job(job_dir: Path, model, inputs: list[np.ndarray]) -> JobRequest:
    """A ``kind="spec"`` job: ``model.to_json()`` plus its weights by get_weights() index."""
    job_dir.mkdir(parents=True, exist_ok=True)
    (job_dir / "spec.json").write_text(model.to_json())
    write_arrays(job_dir / "weights.npz", "w", model.get_weights())
    request = _request(job_dir, job_dir / "spec.json", "spec", inputs, "inference")
    return request.model_copy(update={"weights_path": str(job_dir / "weights.npz")})


def existing_file_job(job_dir: Path, model_path: Path, inputs: list[np.ndarray]) -> JobRequest:
    """A ``kind="file"`` job for a model file already inside ``job_dir``."""
    return _request(job_dir, model_path, "file", inputs, "inference")


def _request(job_dir: Path, model_path: Path, kind: str, inputs, mode: str) -> JobRequest:
    write_arrays(job_dir / "inputs.npz", "x", inputs)
    return JobRequest(
        job_dir=str(job_dir),
        model_path=str(model_path),
        kind=kind,
        inputs_path=str(job_dir / "inputs.npz"),
        mode=mode,
    )
