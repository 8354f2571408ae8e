"""The Keras side of a check: the job a worker of the pool is given, and its answer as arrays.

The job's folder is the check's (app.check.folder): the model (the uploaded file, a
Keras-3-compatible copy of it, or the spec with its weights by `get_weights()` index), the
inputs as `x0, x1, ...`, and, once the worker is done, `result.json` and `outputs/*.npy`
(app/check/keras/jobs.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from app.check.compare import LISTED_VALUES, Side, plain
from app.check.folder import CheckFolder
from app.check.keras import JobRequest, JobResult, load_output
from app.schemas import CheckOutput, KerasCall

UNSUPPORTED_CODES = frozenset(
    {
        "keras-load-failed",
        "keras3-refuses-name",
        "keras-not-functional",
        "keras-build-failed",
        "keras-cpu-unsupported",
    }
)
REFUSED_CODES = frozenset({"disallowed-class"})


def request(
    folder: CheckFolder,
    model_path: Path,
    kind: str,
    mode: str,
    keras_call: KerasCall | None,
    window_bytes: int | None = None,
) -> JobRequest:
    """The worker's request; a spec's weights are `weights.npz`, written by the reference side.
    With `window_bytes` the worker waits for the comparison to take its files
    (app.check.streaming)."""
    weights = str(folder.weights) if kind == "spec" else None
    return JobRequest(
        job_dir=str(folder.path),
        model_path=str(model_path),
        kind=kind,
        weights_path=weights,
        inputs_path=str(folder.inputs),
        mode=mode,
        keras_call=keras_call,
        window_bytes=window_bytes,
    )


def side(job_dir: Path, result: JobResult) -> Side:
    """Keras' outputs per layer (every call's tensors, in order) and the model's outputs."""
    layers = {layer.name: layer.outputs for layer in result.layers}
    return mapped_side(job_dir, layers, result.model_outputs)


def mapped_side(job_dir: Path, layers: dict[str, list[str]], outputs: list[str]) -> Side:
    """A side whose arrays are memory-mapped when asked for, one layer (or model output) at a
    time, and unmapped once the caller drops them: the serving process holds the pages of
    one layer at a time, not of every layer (ResNet50 at batch 2: 7 MB instead of 570 MB)."""
    return Side(_MappedLayers(job_dir, layers), _MappedOutputs(job_dir, outputs))


def in_file_names(result: JobResult, names: dict[str, str]) -> JobResult:
    """Keras' answer under the file's layer names, where the Keras 3 copy renamed layers
    (`names`: the copy's name → the file's, app.check.keras3_names): its layers, and the
    names its sentences and reason hold."""
    if not names:
        return result
    back = _renamer(names)
    layers = [
        layer.model_copy(update={"name": names.get(layer.name, layer.name)})
        for layer in result.layers
    ]
    update: dict = {"layers": layers, "notes": [back(note) for note in result.notes]}
    if result.message is not None:
        update["message"] = back(result.message)
    if result.reason is not None:
        update["reason"] = {
            key: [names.get(v, v) for v in value]
            if isinstance(value, list)
            else names.get(value, value)
            for key, value in result.reason.items()
        }
    return result.model_copy(update=update)


def _renamer(names: dict[str, str]) -> Callable[[str], str]:
    """Replace each whole name (not a part of a longer one) by the file's."""
    alternatives = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w./-])(?:{alternatives})(?![\w./-])")
    return lambda text: pattern.sub(lambda m: names[m.group(0)], text)


def mapped(job_dir: Path, paths: list[str]) -> list[np.ndarray]:
    return [load_output(job_dir, path, mmap=True) for path in paths]


class _MappedLayers(Mapping):
    """Layer name → its tensors, mapped anew at each lookup (never cached)."""

    def __init__(self, job_dir: Path, paths: dict[str, list[str]]) -> None:
        self.job_dir, self.paths = job_dir, paths

    def __getitem__(self, name: str) -> list[np.ndarray]:
        return mapped(self.job_dir, self.paths[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)


class _MappedOutputs(Sequence):
    """The model's outputs, each mapped anew when asked for."""

    def __init__(self, job_dir: Path, paths: list[str]) -> None:
        self.job_dir, self.paths = job_dir, paths

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return mapped(self.job_dir, self.paths[index])
        return load_output(self.job_dir, self.paths[index], mmap=True)

    def __len__(self) -> int:
        return len(self.paths)


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
