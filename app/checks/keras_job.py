"""The Keras side of a check: the job folder a worker is given, and its answer as arrays.

A job folder holds the model (the uploaded file, a Keras-3-compatible copy of it, or the spec
with its weights by `get_weights()` index), the inputs as `x0, x1, ...` (both written by the
reference job), and, once the worker is done, `result.json` and `outputs/*.npy`
(app/runtime/jobs.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.analysis.compare import LISTED_VALUES, Side, plain
from app.runtime import JobRequest, JobResult, load_output
from app.schemas import CheckOutput

INPUTS_FILE = "inputs.npz"
WEIGHTS_FILE = "weights.npz"
UNSUPPORTED_CODES = frozenset(
    {"keras-load-failed", "keras-not-functional", "keras-build-failed", "keras-cpu-unsupported"}
)
REFUSED_CODES = frozenset({"disallowed-class"})


def request(job_dir: Path, model_path: Path, kind: str, mode: str) -> JobRequest:
    """The worker's request; a spec's weights are `weights.npz`, written by the reference job."""
    weights = str(job_dir / WEIGHTS_FILE) if kind == "spec" else None
    return JobRequest(
        job_dir=str(job_dir),
        model_path=str(model_path),
        kind=kind,
        weights_path=weights,
        inputs_path=str(job_dir / INPUTS_FILE),
        mode=mode,
    )


def keras_side(job_dir: Path, result: JobResult) -> Side:
    """Keras' outputs per layer (every call's tensors, in order) and the model's outputs,
    memory-mapped: the comparison reads one layer at a time."""
    layers = {layer.name: mapped(job_dir, layer.outputs) for layer in result.layers}
    return Side(layers, mapped(job_dir, result.model_outputs))


def mapped(job_dir: Path, paths: list[str]) -> list[np.ndarray]:
    return [load_output(job_dir, path, mmap=True) for path in paths]


def failure_status(result: JobResult) -> str:
    """`unsupported` when Keras cannot load or wire the model or TensorFlow cannot run it on
    this CPU, `refused` when it built a class off the allowlist, `error` otherwise (a crash,
    a timeout, bad inputs)."""
    if result.code in REFUSED_CODES:
        return "refused"
    return "unsupported" if result.code in UNSUPPORTED_CODES else "error"


def reference_outputs(job_dir: Path, paths: list[str], names: list[str]) -> list[CheckOutput]:
    """Our outputs alone (Keras gave none), listed when small enough to read."""
    outputs = []
    for name, array in zip(names, mapped(job_dir, paths), strict=True):
        small = array.size <= LISTED_VALUES
        outputs.append(
            CheckOutput(
                name=name, shape=list(array.shape), reference=plain(array) if small else None
            )
        )
    return outputs
