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

While Keras runs beside, the process answers the comparison's questions (a layer over the
tolerance end to end, run on Keras' outputs of its inbound layers: app.check.rejudge_side)
between its layer calls, and after "done" until the check ends it. A request with `rejudge`
runs only those layers so, and says "done".

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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from app.analysis.reference import materialize_weights, run_reference, schedule
from app.analysis.resolve import resolve
from app.check import lifeline
from app.check.batchnorm_modes import BatchNormSamples, sampled_modes
from app.check.folder import CheckFolder
from app.check.keras import write_arrays
from app.check.keras.jobs import RESULT_NAME
from app.check.keras3_files import write_keras3_copy
from app.check.rejudge import RejudgedCall
from app.check.rejudge_side import Judge, judged_all
from app.check.streaming import (
    REFERENCE_GO,
    REFERENCE_LIST,
    REFERENCE_WAITING,
    Room,
    append_line,
    marker,
)
from app.errors import ExplainerError, UnsupportedModel
from app.export.bundle import record_writing, write_program
from app.formats import LoadedModel, ReadLimits, read_model, read_spec
from app.schemas import BatchNormModes

ALREADY_REHEARSED = ReadLimits(isolate_hdf5=False)
JUDGE_POLL_S = 0.05


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
    # Wait while this many bytes of layer outputs are written and not yet taken by the
    # comparison (app.check.streaming); None: never wait.
    window_bytes: int | None = None
    tolerance: float | None = None  # the check's, which the exported program states
    rejudge: list[RejudgedCall] | None = None  # only these layers, on Keras' inputs


class ReferenceResult(_Strict):
    status: Literal["ok", "error"]
    code: str | None = None
    message: str | None = None
    layers: dict[str, list[str]] = {}
    outputs: list[str] = []
    reference_s: float | None = None
    batchnorm: list[BatchNormModes] = []
    unjudged: dict[str, str] = {}  # a layer `rejudge` could not run, and why


def main() -> None:
    request = ReferenceRequest.model_validate_json(sys.stdin.buffer.readline())
    lifeline.hold()  # the check's end (even its process's SIGKILL) ends this one
    folder = CheckFolder(Path(request.folder))
    judge: Judge | None = None
    try:
        result, judge = run(request, folder)
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
    if judge is not None:  # Keras still runs: its failing layers are judged until the end
        _serve_until_ended(judge)


def _serve_until_ended(judge: Judge) -> None:
    """Answer the comparison's questions until the check ends this process (its lifeline)."""
    while True:
        judge.serve()
        time.sleep(JUDGE_POLL_S)


def run(request: ReferenceRequest, folder: CheckFolder) -> tuple[ReferenceResult, Judge | None]:
    """Read, prepare inputs (and a spec's weights or a file's Keras 3 copy), say so, run the
    forward, write outputs; the judge of layers on Keras' inputs when Keras runs beside."""
    if request.rejudge is not None:
        return judge_again(request, folder, request.rejudge), None
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
    streamed = request.window_bytes is not None
    judge = Judge(folder.path, graph, weights, inputs, training) if streamed else None
    writer = _OutputWriter(folder, graph, inputs, request.window_bytes, judge)
    start = time.perf_counter()
    run_ = run_reference(graph, weights, inputs, training=training, on_call=writer.seen)
    elapsed = time.perf_counter() - start - writer.aside_s  # the forward's own time
    result = ReferenceResult(
        status="ok",
        layers=writer.layers(),
        outputs=[writer.save(t) for t in run_.outputs],
        reference_s=round(elapsed, 4),
        batchnorm=_both_modes(graph, weights, inputs, writer.batchnorm, training),
    )
    return result, judge


def judge_again(
    request: ReferenceRequest, folder: CheckFolder, calls: list[RejudgedCall]
) -> ReferenceResult:
    """Each layer of `calls` on Keras' outputs of its inbound layers (app.check.rejudge_side),
    in a process started for them alone: the layers left when the check's own reference
    process had ended."""
    with _load(request) as loaded:
        graph = loaded.graph
        resolve(graph, weights_in_file=request.kind == "file")
        weights = materialize_weights(graph, request.seed)
    inputs = read_inputs(folder, len(graph.inputs))
    judge = Judge(folder.path, graph, weights, inputs, request.mode == "training", stem="end-")
    layers, unjudged = judged_all(judge, calls)
    return ReferenceResult(status="ok", layers=layers, unjudged=unjudged)


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


def _both_modes(
    graph, weights, inputs, ran: BatchNormSamples, training: bool
) -> list[BatchNormModes]:
    """BatchNormalization layers in both modes: `ran` is one, a second run gives the other
    (lean: only its BN layers' first values are kept)."""
    if not ran.layers:
        return []
    other = BatchNormSamples(graph, inputs)
    try:
        run_reference(graph, weights, inputs, training=not training, on_call=other.seen)
    except UnsupportedModel:
        # The other mode cannot be run (a RandomFlip in training mode draws at random): the
        # check of the mode asked for stands; only this side-by-side view is left out.
        return []
    return sampled_modes(*((other, ran) if training else (ran, other)))


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


class _OutputWriter:
    """Each layer call's outputs written to reference/<i>.npy as the forward runs them (an
    `on_call` of run_reference), so this process holds the tensors still to be read, not
    every layer's outputs (EfficientNetB7 at 600 × 600, batch 2: 7.8 GiB of them), and the
    BN layers' first values on the way. A layer is listed for the comparison once all its
    calls are written; with a window, a call waits until its outputs fit beside the files
    the comparison has not taken (app.check.streaming). `aside_s`: the time spent between
    calls on what is not the forward (waiting for room, answering the comparison's
    questions), which the check's `timing.reference_s` leaves out."""

    def __init__(
        self,
        folder: CheckFolder,
        graph,
        inputs: list[np.ndarray],
        window: int | None = None,
        judge: Judge | None = None,
    ) -> None:
        self.folder = folder
        self.window, self.judge = window, judge
        self.room = Room(folder.path, window or 0)
        self.listed = [
            node.name
            for node in graph.keras_layers()
            if node.class_name != "InputLayer" and not node.is_operation
        ]
        self.is_listed = set(self.listed)
        self.written: dict[str, dict[int, list[str]]] = {}
        self.calls: dict[str, int] = {}  # listed layer -> the calls the forward runs
        for node, _ in schedule(graph):
            self.calls[node.name] = self.calls.get(node.name, 0) + 1
        self.batchnorm = BatchNormSamples(graph, inputs)
        self.count = 0
        self.aside_s = 0.0
        folder.reference_outputs.mkdir(exist_ok=True)

    def seen(self, node, call: int, outputs: list) -> None:
        if self.judge is not None:  # between our layer calls: the comparison's questions
            with self._aside():
                self.judge.serve()
        self.batchnorm.seen(node, call, outputs)
        if node.name not in self.is_listed:
            return
        if self.window:
            size = sum(np.asarray(t).nbytes for t in outputs)
            waiting = marker(self.folder.path, REFERENCE_WAITING)
            with self._aside():
                self.room.wait(size, self._told_to_go_on_or_keras_ended, waiting)
        calls = self.written.setdefault(node.name, {})
        calls[call] = [self.save(t, held=True) for t in outputs]
        if len(calls) == self.calls.get(node.name, 0):
            paths = [path for i in sorted(calls) for path in calls[i]]
            append_line(self.folder.path / REFERENCE_LIST, {"layer": node.name, "paths": paths})

    def save(self, array: np.ndarray, held: bool = False) -> str:
        path = f"{self.folder.REFERENCE_OUTPUTS}/{self.count}.npy"
        self.count += 1
        np.save(self.folder.path / path, np.asarray(array), allow_pickle=False)
        if held:
            self.room.add(path, (self.folder.path / path).stat().st_size)
        return path

    @contextmanager
    def _aside(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.aside_s += time.perf_counter() - start

    def _told_to_go_on_or_keras_ended(self) -> bool:
        if self.judge is not None:  # while we wait for room, too
            self.judge.serve()
        path = self.folder.path
        return (path / REFERENCE_GO).exists() or (path / RESULT_NAME).exists()

    def layers(self) -> dict[str, list[str]]:
        """Every listed layer's files, its calls in order (a layer never run: none)."""
        return {
            name: [path for call in sorted(calls) for path in calls[call]]
            for name in self.listed
            for calls in [self.written.get(name, {})]
        }


def write_result(folder: CheckFolder, result: ReferenceResult) -> None:
    partial = folder.path / (folder.REFERENCE_RESULT + ".partial")
    partial.write_text(result.model_dump_json())
    os.replace(partial, folder.reference_result)


def _event(name: str) -> None:
    sys.stdout.write(json.dumps({"event": name}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
