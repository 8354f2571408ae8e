"""The contract between the server and a Keras worker: one JSON request, one JSON result.

A job lives in a folder (``job_dir``) that the caller creates. The request names files inside
it; the worker writes ``result.json`` and ``outputs/<i>.npy`` into it. Nothing crosses the
process boundary but JSON lines, ``.npz`` inputs/weights and ``.npy`` outputs, all read with
``allow_pickle=False``.

Layout of a job folder::

    job_dir/
      model.keras | model.h5 | spec.json      the model (``model_path``)
      inputs.npz                               x0, x1, ... one array per model input
      weights.npz                              w0, w1, ... by ``model.get_weights()`` index
      outputs/0.npy, outputs/1.npy, ...        written by the worker
      result.json                              written by the worker, last
"""

from __future__ import annotations

import json
import math
import mmap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.ast_guard import read_npy_header
from app.schemas import KerasCall

RESULT_NAME = "result.json"
OUTPUTS_DIR = "outputs"
MAX_RESULT_JSON_BYTES = 8 * 1024 * 1024
# A worker holds every output it is asked for at once, and Keras about three times that at
# the end of a run (its tensors, the NumPy copies, the run's own). Asked for in groups of
# 512 MiB (one layer larger than that in slices of the batch: app.check.keras.outputs), a
# 6 GiB worker runs a model whatever the sum of its outputs (ResNet50 at 224, batch 2:
# 284 MiB, one group).
GROUP_BYTES = 512 << 20
# Keras' Functional call keeps every tensor it computes until it returns
# (keras.src.ops.function.Function._run_through_graph), so an eager run over a group holds
# every layer output up to the group's last, not only the group's: EfficientNetB7 at
# 600 × 600 held 7.8 GiB at batch 2 and went over the 6 GiB worker ceiling. A run that would
# hold more than this goes in slices of the batch (inference only: app.check.keras.outputs).
HELD_BYTES = 4 << 30
# What a .npy file may hold besides its array: its header (numpy pads it to 64 bytes; a
# version 2 header may be longer). Allowed on top of a file's cap, never counted in a total.
NPY_HEADER_ALLOWANCE = 1 << 16

ResultStatus = Literal["ok", "error", "timeout"]
Stage = Literal["loading", "building", "predicting", "writing"]


@dataclass(frozen=True)
class OutputCaps:
    """The most a job's outputs may hold, in array bytes: one file, and all together.
    A check derives them from the budgets that admitted it (app.check.budgets.output_caps)."""

    max_file_bytes: int
    max_total_bytes: int

    @property
    def max_file_size(self) -> int:
        """A file's size on disk: its array and its header (the worker's RLIMIT_FSIZE)."""
        return self.max_file_bytes + NPY_HEADER_ALLOWANCE


class InvalidResult(ValueError):
    """A worker's result.json breaks the contract (schema, paths, sizes, dtypes)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JobRequest(_Strict):
    """What the worker is asked to do. Every path is a file inside ``job_dir``."""

    job_dir: str
    model_path: str
    kind: Literal["file", "spec"]
    weights_path: str | None = None
    inputs_path: str
    mode: Literal["inference", "training"] = "inference"
    keras_call: KerasCall | None = Field(
        default=None,
        description="How Keras runs the model in inference mode: `call`, an eager "
        "`probe(x, training=False)`, or `predict`; None: the faster for the model "
        "(app.check.keras.running.faster_call). Training mode always calls it.",
    )
    defer_initializers: bool = Field(
        default=True,
        description="Load without drawing the initial values the file's then replace "
        "(app.check.keras.initial_values); False: load as Keras does.",
    )
    window_bytes: int | None = Field(
        default=None,
        gt=0,
        description="The most bytes of layer outputs written and not yet taken by the "
        "comparison before the worker waits to write more (app.check.streaming); None: "
        "never waits (nothing takes them before the job ends).",
    )
    held_bytes: int = Field(
        default=HELD_BYTES,
        gt=0,
        description="The most layer-output bytes an eager run may hold at once (every "
        "layer's up to the group's last): more, and it runs in slices of the batch.",
    )
    group_bytes: int = Field(
        default=GROUP_BYTES,
        gt=0,
        description="The most layer-output bytes Keras is asked for at once: the outputs "
        "are asked for in groups of about this size, one run per group, each written and "
        "dropped before the next.",
    )

    @model_validator(mode="after")
    def _paths_inside_job_dir(self) -> JobRequest:
        root = Path(self.job_dir).resolve()
        for field in ("model_path", "weights_path", "inputs_path"):
            value = getattr(self, field)
            if value is not None and not _is_inside(Path(value), root):
                raise ValueError(f"{field} must be a file inside job_dir")
        return self

    def to_line(self) -> bytes:
        """The request as the one JSON line the worker reads from stdin."""
        return (self.model_dump_json() + "\n").encode()


class Progress(_Strict):
    """A progress line the worker prints while it works: ``done`` of ``total`` at ``stage``."""

    event: Literal["progress"] = "progress"
    stage: Stage
    done: int
    total: int


class LayerOutputs(_Strict):
    name: str
    class_name: str
    outputs: list[str] = Field(description="Paths of .npy files, relative to job_dir.")
    shapes: list[list[int]]
    nested: bool = Field(
        default=False, description="A nested model: only its own output is reported."
    )


class Timing(_Strict):
    load_s: float
    predict_s: float


class JobResult(_Strict):
    """The worker's answer, or the pool's when the worker could not answer."""

    status: ResultStatus
    code: str | None = None
    message: str | None = Field(default=None, description="A sentence; never Keras text.")
    exception_type: str | None = None
    reason: dict[str, list[str] | str] | None = Field(
        default=None,
        description="Why Keras refused a file or TensorFlow a layer, as data: kind, then "
        "class_name and keys, or op, limit and layers.",
    )
    mode: Literal["inference", "training"] | None = None
    keras_call: KerasCall | None = Field(
        default=None, description="The call Keras ran: `call` (eager) or `predict`."
    )
    keras_version: str | None = None
    tf_version: str | None = None
    layers: list[LayerOutputs] = []
    model_outputs: list[str] = []
    timing: Timing | None = None
    notes: list[str] = []

    def output_paths(self) -> list[str]:
        """Every .npy path the result names, layer outputs first, without repeats."""
        paths = [p for layer in self.layers for p in layer.outputs] + self.model_outputs
        return list(dict.fromkeys(paths))


def failure(status: ResultStatus, code: str, message: str) -> JobResult:
    """A result for a job that produced no outputs."""
    return JobResult(status=status, code=code, message=message)


class JobFailed(Exception):
    """A job step failed; carries the result to write (code and plain message)."""

    def __init__(self, code: str, message: str, exc: BaseException | None = None) -> None:
        super().__init__(message)
        self.result = failure("error", code, message)
        if exc is not None:
            self.result.exception_type = type(exc).__name__


def read_result(job_dir: str | Path, max_file_bytes: int, max_total_bytes: int) -> JobResult:
    """Parse and check ``job_dir/result.json``; raise InvalidResult when it breaks the contract.

    Checks: size of result.json, schema, every named path is a regular ``.npy`` file inside
    job_dir, its array at most ``max_file_bytes`` and all arrays together at most
    ``max_total_bytes`` (array bytes: a header is not an output), its header readable and its
    dtype free of Python objects, its shape the one declared. A layer's file may be gone:
    a check's comparison deletes each layer's files once it has compared them
    (app.check.arrivals), reading them through `load_output`, which checks them the same
    way; the model's outputs must be there.
    """
    root = Path(job_dir).resolve()
    path = root / RESULT_NAME
    if not path.is_file():
        raise InvalidResult("result.json is missing")
    if path.stat().st_size > MAX_RESULT_JSON_BYTES:
        raise InvalidResult("result.json is too large")
    try:
        result = JobResult.model_validate_json(path.read_bytes())
    except ValueError as exc:
        raise InvalidResult("result.json does not match the result schema") from exc
    _check_outputs(root, result, max_file_bytes, max_total_bytes)
    return result


def load_output(job_dir: str | Path, relpath: str, mmap: bool = False) -> np.ndarray:
    """Load one output array named by a checked result (never unpickles); `mmap` maps the
    file instead of reading it, so a large output costs no memory until it is read."""
    path = _inside(Path(job_dir).resolve(), relpath)
    assert path is not None
    mapped = _mapped(path)
    return mapped if mmap else np.array(mapped)  # read: a copy, its file free to go


def _mapped(path: Path) -> np.ndarray:
    """A read-only view of a .npy file's array over a memory map of the file (what
    `np.load(mmap_mode="r")` gives, in half the time: a check maps hundreds of files)."""
    with path.open("rb") as handle:
        try:
            shape, fortran_order, dtype = read_npy_header(handle)
        except ValueError as exc:
            raise InvalidResult(f"{path.name} is not a readable .npy file") from exc
        if dtype.hasobject:
            raise InvalidResult(f"{path.name} holds Python objects")
        count, offset = math.prod(shape), handle.tell()
        if count == 0:
            empty = np.empty(shape, dtype)
            empty.flags.writeable = False
            return empty
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        flat = np.frombuffer(mapped, dtype=dtype, count=count, offset=offset)
    except ValueError as exc:
        raise InvalidResult(f"{path.name} is shorter than its header says") from exc
    return flat.reshape(shape, order="F" if fortran_order else "C")


def write_arrays(path: str | Path, prefix: str, arrays: Sequence[np.ndarray]) -> None:
    """Write ``prefix0, prefix1, ...`` into an .npz (``x`` for inputs, ``w`` for weights)."""
    named = {f"{prefix}{i}": np.asarray(a) for i, a in enumerate(arrays)}
    if any(a.dtype.hasobject for a in named.values()):
        raise ValueError("arrays of Python objects cannot be sent to a worker")
    np.savez(path, **named)


def _check_outputs(root: Path, result: JobResult, max_file: int, max_total: int) -> None:
    for layer in result.layers:
        if len(layer.outputs) != len(layer.shapes):
            raise InvalidResult(f"layer {layer.name} lists outputs and shapes of unequal length")
    declared = {
        path: shape
        for layer in result.layers
        for path, shape in zip(layer.outputs, layer.shapes, strict=True)
    }
    total = 0
    model_outputs = set(result.model_outputs)
    for relpath in result.output_paths():
        kept = relpath in model_outputs
        path = _inside(root, relpath, must_exist=kept)
        if path is None:
            continue  # compared and deleted
        try:
            shape, offset = _npy_shape(path)
            size = path.stat().st_size - offset
        except FileNotFoundError:  # compared and deleted while we looked (the comparison
            if kept:  # runs on its own thread); a model output is never deleted
                raise InvalidResult(f"{relpath!r} is not a file inside the job folder") from None
            continue
        if size > max_file:
            raise InvalidResult(f"{relpath} is larger than {max_file} bytes")
        total += size
        if relpath in declared and list(shape) != declared[relpath]:
            raise InvalidResult(f"{relpath} does not have its declared shape")
    if total > max_total:
        raise InvalidResult(f"the outputs are larger than {max_total} bytes together")


def _inside(root: Path, relpath: str, must_exist: bool = True) -> Path | None:
    """``root/relpath`` resolved (symlinks followed), refused unless it stays inside root;
    None for a path inside root that names nothing, when it need not exist."""
    candidate = Path(relpath)
    if candidate.is_absolute() or candidate.suffix != ".npy":
        raise InvalidResult(f"{relpath!r} is not a relative .npy path")
    path = (root / candidate).resolve()
    if path.is_relative_to(root) and not must_exist and not path.exists():
        return None
    if not path.is_relative_to(root) or not path.is_file():
        raise InvalidResult(f"{relpath!r} is not a file inside the job folder")
    return path


def _npy_shape(path: Path) -> tuple[tuple[int, ...], int]:
    """Read only the .npy header: the shape and where the array starts; refuse object dtypes
    (they would need pickle)."""
    try:
        with path.open("rb") as handle:
            shape, _, dtype = read_npy_header(handle)
            offset = handle.tell()
    except FileNotFoundError:
        raise  # deleted since it was found: the caller knows whether it may be
    except (ValueError, OSError) as exc:
        raise InvalidResult(f"{path.name} is not a readable .npy file") from exc
    if dtype.hasobject:
        raise InvalidResult(f"{path.name} holds Python objects")
    return shape, offset


def _is_inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root)


def as_line(payload: dict) -> str:
    """One protocol line: compact JSON, newline-terminated."""
    return json.dumps(payload, separators=(",", ":")) + "\n"
