"""Keras worker: one job per process, then it exits. Run as ``python -m app.check.keras.worker``.

Protocol. stdout carries JSON lines only: ``{"event": "ready", "keras_version", "tf_version"}``
once Keras is imported (so a job never pays the import), then ``{"event": "progress", "stage",
"done", "total"}`` while the job runs. stdin carries exactly one ``JobRequest`` line. The
answer is ``job_dir/result.json`` (written last, atomically) and ``job_dir/outputs/<i>.npy``.
Anything Keras or TensorFlow prints goes to stderr.

The job: load the model (``keras.saving.load_model(safe_mode=True, compile=False)``, or
``model_from_json`` + ``set_weights`` for a spec, without drawing the initial values that
the file's replace: app.check.keras.initial_values; a Keras 2 file Keras 3 refuses for a
key at its default arrives as a rewritten copy, app.check.keras3_copy), build
``keras.Model(model.inputs, [every layer's outputs])`` and run it (app.check.keras.running):
in inference mode an eager call ``probe(x, training=False)``, or ``predict`` when the request
asks (``keras_call``); in training mode ``probe(x, training=True)`` with dropout turned off so
the run is deterministic. A model TensorFlow's kernels cannot run on this CPU is told apart
from other failures to run it (app.check.keras.cpu_limits). Error messages are sentences of
ours: Keras messages embed configs, so their text never reaches the result (only the
exception's class name and, for those, the model's own layer names do).

This is the only module of the project that imports keras, and only inside ``main()``.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from app.check import lifeline
from app.check.keras.allowlist import disallowed_layers
from app.check.keras.jobs import (
    OUTPUTS_DIR,
    RESULT_NAME,
    JobFailed,
    JobRequest,
    JobResult,
    LayerOutputs,
    Timing,
    as_line,
)
from app.check.keras.loading import keep_attr_skipsets, load_model, read_inputs
from app.check.keras.outputs import output_groups, output_path, run_groups
from app.check.keras.running import call_made, make_training_deterministic
from app.check.streaming import KERAS_LAYERS

MAX_REQUEST_BYTES = 1 << 16
ProgressSink = Callable[[str, int, int], None]


def main() -> None:
    """Import Keras, say ready, run the one job read from stdin, write its result, exit."""
    protocol = _claim_stdout()
    import keras
    import tensorflow as tf

    warm_up(keras)
    gc.freeze()  # see warm_up: what is here now is never collected again
    protocol.write(
        as_line(
            {"event": "ready", "keras_version": keras.__version__, "tf_version": tf.__version__}
        )
    )
    protocol.flush()
    line = sys.stdin.buffer.readline(MAX_REQUEST_BYTES)
    if not line.strip():
        os._exit(0)  # the pool went away before giving a job
    request = JobRequest.model_validate_json(line)
    lifeline.hold()  # from here on, the pool's end (even by SIGKILL) ends this process

    def report(stage: str, done: int, total: int) -> None:
        event = {"event": "progress", "stage": stage, "done": done, "total": total}
        protocol.write(as_line(event))
        protocol.flush()

    result = run_job(keras, request, report)
    result.keras_version, result.tf_version = keras.__version__, tf.__version__
    write_result(Path(request.job_dir), result)
    protocol.write(as_line({"event": "done"}))  # the pool reads the result while we exit
    protocol.flush()
    os._exit(0)  # skip TensorFlow's slow teardown; everything is written


def warm_up(keras: Any) -> None:
    """Build, load-like, and predict a tiny convolutional model once, before any job: the
    runtime's first-use costs (thread pools, kernels, tracing machinery) are paid while the
    worker waits as a spare, not by the check that gets it.

    Then `main` freezes the garbage collector's view of what the process holds (TensorFlow
    and Keras imported: about 290,000 objects): else the job's first full collection walks
    them all, 0.23 s of MobileNetV2's load in a fresh worker (of 1.49 s CPU), which the
    job's objects alone take a few ms to walk.

    Last, Keras' loader is given the attribute sets it would otherwise list again for every
    layer a job loads (app.check.keras.loading.keep_attr_skipsets)."""
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(4, 3),
            keras.layers.BatchNormalization(),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2),
        ]
    )
    probe = keras.Model(model.inputs, [layer.output for layer in model.layers])
    x = np.zeros((2, 8, 8, 3), "float32")
    probe(x, training=False)  # both calls a job may make
    probe.predict(x, batch_size=2, verbose=0)
    keep_attr_skipsets(keras)


def _claim_stdout() -> Any:
    """Keep the real stdout for protocol lines; point fd 1 (and print) at stderr."""
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return protocol


def run_job(keras: Any, request: JobRequest, report: ProgressSink) -> JobResult:
    """Load, build the every-layer model, run it, write the .npy files; never raises."""
    notes: list[str] = []
    try:
        start = time.perf_counter()
        report("loading", 0, 1)
        model = load_model(keras, request, notes)
        refuse_disallowed(keras, model)
        load_s = time.perf_counter() - start
        report("loading", 1, 1)
        report("building", 0, 1)
        entries = _layer_entries(keras, model, notes)
        tensors, position = _flatten(entries, model.outputs)
        inputs = read_inputs(request.inputs_path, model.inputs)
        groups = output_groups(tensors, len(inputs[0]), request.group_bytes)
        report("building", 1, 1)
        if request.mode == "training":
            notes.extend(make_training_deterministic(keras, model))
        keras_call = call_made(keras, model, request.keras_call, request.mode)
        kept = frozenset(position[id(t)] for t in model.outputs)
        write_layers(Path(request.job_dir), entries, position, kept)
        paths, shapes, predict_s = run_groups(
            keras, model, (tensors, groups), inputs, request, keras_call, report, kept
        )
    except JobFailed as failed:
        return failed.result
    except Exception as exc:  # a bug of ours or an unforeseen Keras state: still answer
        return JobFailed("worker-failed", "The Keras worker failed unexpectedly.", exc).result
    layers = [
        _layer_record(layer, [position[id(t)] for t in ts], paths, shapes, nested)
        for layer, ts, nested in entries
    ]
    return JobResult(
        status="ok",
        mode=request.mode,
        keras_call=keras_call,
        layers=layers,
        model_outputs=[paths[position[id(t)]] for t in model.outputs],
        timing=Timing(load_s=round(load_s, 4), predict_s=round(predict_s, 4)),
        notes=notes,
    )


def write_layers(job_dir: Path, entries: list, position: dict[int, int], kept: frozenset) -> None:
    """outputs/layers.json: each layer's tensor files and the model's, for the comparison to
    take layers as their files are listed (app.check.streaming)."""
    layers = [
        {"name": layer.name, "outputs": [output_path(position[id(t)]) for t in ts]}
        for layer, ts, _ in entries
    ]
    listing = {"layers": layers, "model_outputs": [output_path(i) for i in sorted(kept)]}
    try:
        (job_dir / OUTPUTS_DIR).mkdir(exist_ok=True)
        partial = job_dir / (KERAS_LAYERS + ".partial")
        partial.write_text(json.dumps(listing))
        os.replace(partial, job_dir / KERAS_LAYERS)
    except OSError as exc:
        raise JobFailed("write-failed", "The worker could not write the outputs.", exc) from exc


def refuse_disallowed(keras: Any, model: Any) -> None:
    """Stop before predict when Keras built a layer whose class is not allowlisted."""
    found = disallowed_layers(keras, model)
    if found:
        names = ", ".join(f"{layer} ({cls})" for layer, cls in found[:10])
        raise JobFailed(
            "disallowed-class",
            f"Keras built layers of classes that are not on the allowlist: {names}.",
        )


def write_result(job_dir: Path, result: JobResult) -> None:
    """Write result.json atomically, so the pool never reads half a file."""
    partial = job_dir / (RESULT_NAME + ".partial")
    partial.write_text(result.model_dump_json(exclude_none=True))
    os.replace(partial, job_dir / RESULT_NAME)


# -- the every-layer model -----------------------------------------------------------------


def _layer_entries(keras: Any, model: Any, notes: list[str]) -> list[tuple[Any, list, bool]]:
    """(layer, output tensors of each of its calls in this graph, nested?) in model.layers order.

    Keras records each call of a layer as an inbound node; the graph's ``_nodes`` holds the
    keys of the nodes that belong to it. A nested model's inner layers live in its own graph,
    so for it only its output in the outer graph is reachable.
    """
    from keras.src.ops.function import make_node_key

    graph = model._functional if isinstance(model, keras.Sequential) else model
    nodes = getattr(graph, "_nodes", None)
    if nodes is None:
        raise JobFailed(
            "keras-not-functional",
            "This model has no layer graph (it is subclassed or was never built), so the "
            "outputs of its layers cannot be read.",
        )
    entries = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        calls = [
            keras.tree.flatten(node.output_tensors)
            for i, node in enumerate(layer._inbound_nodes)
            if make_node_key(layer, i) in nodes
        ]
        nested = isinstance(layer, keras.Model)
        entries.append((layer, [t for call in calls for t in call], nested))
        notes.extend(_layer_notes(layer.name, len(calls), nested))
    return entries


def _layer_notes(name: str, calls: int, nested: bool) -> list[str]:
    notes = []
    if nested:
        notes.append(
            f"{name} is a nested model: only its output is reported; its inner layers are "
            "not reachable from the outer graph."
        )
    if calls > 1:
        notes.append(f"{name} is called {calls} times: its outputs are listed call by call.")
    return notes


def _flatten(entries: list, model_outputs: list) -> tuple[list, dict[int, int]]:
    """Every distinct tensor once (layer outputs, then model outputs not among them), and
    each tensor's position by ``id``."""
    tensors: list = []
    position: dict[int, int] = {}
    for tensor in [t for _, ts, _ in entries for t in ts] + list(model_outputs):
        if id(tensor) not in position:
            position[id(tensor)] = len(tensors)
            tensors.append(tensor)
    return tensors, position


def _layer_record(
    layer: Any, chosen: list[int], paths: list[str], shapes: dict[int, list[int]], nested: bool
) -> LayerOutputs:
    return LayerOutputs(
        name=layer.name,
        class_name=type(layer).__name__,
        outputs=[paths[i] for i in chosen],
        shapes=[shapes[i] for i in chosen],
        nested=nested,
    )


if __name__ == "__main__":
    main()
