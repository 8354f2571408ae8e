"""Asking Keras for every layer's output without holding them all: in groups of layers, and a
group too large for one run in slices of the batch, each output streamed to its .npy file.

A worker holds what one run returns, and Keras about three times that at the end of a run
(its tensors, the NumPy copies, the run's own). So the outputs are asked for in groups of at
most `group_bytes` at the check's batch (JobRequest.group_bytes, 512 MiB), one run per group,
written and dropped before the next. One layer's output can be larger than a group by itself
(the tensor budget admits 1 GiB per sample, 2 GiB at batch 2, which a 6 GiB worker could not
run at once): in inference mode, where every sample is computed on its own, such a group runs
on slices of the batch, as few samples at a time as keep the run under `group_bytes` (one at
least), and each slice is appended to the output's file. An eager call also keeps every
layer output up to the group's last until it returns: a run that would hold more than
`held_bytes` (JobRequest, 4 GiB) is sliced the same way (EfficientNetB7 at 600 × 600: 7.8 GiB
at batch 2, 3.9 GiB a sample). Training mode needs the whole batch at once
(BatchNormalization's batch statistics), so it never slices.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.lib.format as npy_format

from app.check.keras.jobs import OUTPUTS_DIR, JobFailed, JobRequest
from app.check.keras.running import run
from app.check.streaming import (
    KERAS_LIST,
    KERAS_WAITING,
    REFERENCE_ENDED,
    Room,
    append_line,
    exists,
    marker,
)
from app.schemas import KerasCall

ProgressSink = Callable[[str, int, int], None]


def output_groups(tensors: list, batch: int, group_bytes: int) -> list[list[int]]:
    """Positions of `tensors` in consecutive groups of at most `group_bytes` at `batch` (a
    tensor larger than that alone in its group). An unknown dimension counts as 1: the
    grouping bounds memory for the shapes the model declares."""
    groups: list[list[int]] = [[]]
    held = 0
    for i, tensor in enumerate(tensors):
        size = tensor_bytes(tensor, batch)
        if groups[-1] and held + size > group_bytes:
            groups.append([])
            held = 0
        groups[-1].append(i)
        held += size
    return groups


def tensor_bytes(tensor: Any, batch: int) -> int:
    dims = [batch, *(d or 1 for d in tuple(tensor.shape)[1:])]
    try:
        itemsize = np.dtype(str(tensor.dtype)).itemsize
    except TypeError:
        itemsize = 4
    return int(np.prod(dims, dtype=np.int64)) * itemsize


def rows_per_run(
    group_size: int,
    batch: int,
    group_bytes: int,
    mode: str,
    held: int = 0,
    held_bytes: int | None = None,
) -> int:
    """How many samples one run of a group takes: the whole batch, unless in inference mode
    the group holds more than `group_bytes` at it, or the run more than `held_bytes` (`held`:
    what an eager run keeps until it returns, every layer output up to the group's last);
    then as many as fit (one at least)."""
    if mode != "inference" or batch <= 1:
        return batch
    rows = batch
    for size, most in ((group_size, group_bytes), (held, held_bytes)):
        if most is not None and size > most:
            rows = min(rows, max(1, most // math.ceil(size / batch)))
    return rows


def run_groups(
    keras: Any,
    model: Any,
    grouped: tuple[list, list[list[int]]],
    inputs: list,
    request: JobRequest,
    keras_call: KerasCall,
    report: ProgressSink,
    kept: frozenset[int] = frozenset(),
) -> tuple[list[str], dict[int, list[int]], float]:
    """Each group of `grouped` (the tensors, and their positions in groups): a model over
    them, run as `keras_call` (whole, or slice by slice), written, dropped before the next
    group, and listed for the comparison (app.check.streaming), which deletes the files it
    has compared but those of `kept` (the model's outputs). A group called whole is written
    and listed output by output as the call computes them (app.check.keras.running.streamed),
    so the comparison takes the first layers while Keras runs the last. With a window
    (JobRequest.window_bytes), a group waits until it fits beside the files not taken yet.
    Returns each tensor's path, its shape, and the seconds Keras ran (writing aside)."""
    tensors, groups = grouped
    paths: list[str] = [""] * len(tensors)
    shapes: dict[int, list[int]] = {}
    keras_s = 0.0
    batch = len(inputs[0])
    job_dir = Path(request.job_dir)
    room = Room(job_dir, request.window_bytes or 0)
    up_to = list(itertools.accumulate(tensor_bytes(t, batch) for t in tensors))
    for done, group in enumerate(groups):
        report("predicting", done, len(groups))
        chosen = [tensors[i] for i in group]
        size = sum(tensor_bytes(t, batch) for t in chosen)
        if request.window_bytes:
            room.wait(size, exists(job_dir, REFERENCE_ENDED), marker(job_dir, KERAS_WAITING))
        probe = _probe_model(keras, model, chosen)
        held = up_to[max(group)] if keras_call == "call" else 0  # `predict` frees as it goes
        rows = rows_per_run(
            size, batch, request.group_bytes, request.mode, held, request.held_bytes
        )
        files = _Outputs(job_dir, group, batch, sliced=rows < batch, listing=(room, kept))
        arrived = files.arrived if rows == batch and keras_call == "call" else None
        for first in range(0, batch, rows):
            part = [x[first : first + rows] for x in inputs]
            start = time.perf_counter()
            arrays = run(keras, model, probe, part, request.mode, keras_call, arrived)
            keras_s += time.perf_counter() - start
            files.append(arrays)
            del arrays
        keras_s -= files.streaming_s
        for i in group:
            paths[i], shapes[i] = output_path(i), files.shapes[i]
        files.list_rest()
    report("predicting", len(groups), len(groups))
    return paths, shapes, keras_s


def _list(job_dir: Path, room: Room, path: str, shape: list[int], kept: bool) -> None:
    """The tensor's file is complete: listed for the comparison, and held in the window
    until it is taken (a model output never is). Its size is read before it is listed: once
    listed, the comparison may take and delete it at any moment."""
    try:
        size = (job_dir / path).stat().st_size
        append_line(job_dir / KERAS_LIST, {"path": path, "shape": shape})
    except OSError as exc:
        raise JobFailed("write-failed", "The worker could not write the outputs.", exc) from exc
    if not kept:
        room.add(path, size)


def _probe_model(keras: Any, model: Any, tensors: list) -> Any:
    try:
        return keras.Model(model.inputs, tensors)
    except Exception as exc:
        raise JobFailed(
            "keras-build-failed", "Keras could not build a model over every layer's output.", exc
        ) from exc


class _Outputs:
    """A group's `outputs/<i>.npy` files (never pickled), each listed for the comparison once
    complete: written whole as the call hands it (`arrived`), or with a header for the whole
    batch at its first slice and each later slice appended (`append`), listed once the group
    has run (`list_rest`). A file is open only while it is written: a group can hold hundreds
    of layers (DenseNet169: 597), more than the worker's open-file limit."""

    def __init__(
        self,
        job_dir: Path,
        group: list[int],
        batch: int,
        sliced: bool,
        listing: tuple[Room, frozenset[int]],
    ) -> None:
        self.job_dir, self.group, self.batch, self.sliced = job_dir, group, batch, sliced
        self.room, self.kept = listing
        self.shapes: dict[int, list[int]] = {}
        self.listed: set[int] = set()
        self.streaming_s = 0.0  # spent writing and listing inside the call

    def arrived(self, k: int, array: np.ndarray) -> None:
        """The group's k-th output, complete: written and listed at once."""
        start = time.perf_counter()
        self._write(self.group[k], array)
        self._list(self.group[k])
        self.streaming_s += time.perf_counter() - start

    def append(self, arrays: list[np.ndarray | None]) -> None:
        """One run's outputs (None: handed to `arrived` already)."""
        for i, array in zip(self.group, arrays, strict=True):
            if array is not None:
                self._write(i, array)

    def list_rest(self) -> None:
        for i in self.group:
            if i not in self.listed:
                self._list(i)

    def _write(self, i: int, array: np.ndarray) -> None:
        array = _numpy_dtype(array)
        try:
            (self.job_dir / OUTPUTS_DIR).mkdir(exist_ok=True)
            mode = "ab" if i in self.shapes else "wb"
            with (self.job_dir / output_path(i)).open(mode) as out:
                if i not in self.shapes:
                    self.shapes[i] = self._header(out, array)
                np.ascontiguousarray(array).tofile(out)
        except OSError as exc:
            raise JobFailed("write-failed", "The worker could not write the outputs.", exc) from exc

    def _header(self, out: BinaryIO, array: np.ndarray) -> list[int]:
        shape = [self.batch, *array.shape[1:]] if self.sliced else list(array.shape)
        header = {"descr": npy_format.dtype_to_descr(array.dtype), "fortran_order": False}
        npy_format.write_array_header_2_0(out, {**header, "shape": tuple(shape)})
        return shape

    def _list(self, i: int) -> None:
        self.listed.add(i)
        _list(self.job_dir, self.room, output_path(i), self.shapes[i], kept=i in self.kept)


def _numpy_dtype(array: np.ndarray) -> np.ndarray:
    """`array` in a dtype NumPy itself reads back: a bfloat16 or float8 output (ml_dtypes'
    types, which a .npy header names only as opaque bytes, `|V2`) as float32, which holds
    each of their values exactly (mixed_bfloat16 layers output bfloat16)."""
    return array.astype(np.float32) if array.dtype.kind == "V" else array


def output_path(index: int) -> str:
    return f"{OUTPUTS_DIR}/{index}.npy"
