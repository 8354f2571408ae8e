"""Our side of judging a layer again on Keras' own inputs (app.check.rejudge): in a reference
process, which has the model and its weights, our forward of one layer fed Keras' outputs of
its inbound layers.

    rejudge/asked.jsonl    the comparison asks, as layers fail end to end: one
                           `RejudgedCall` a line (app.check.arrivals)
    rejudge/judged.jsonl   answered, a line each: {"layer": name, "paths": [rejudge/<i>.npy,
                           ...]} (every call's tensors, in order), or {"layer": name,
                           "why": sentence} when the layer cannot be run so

The check's reference process answers between its own layer calls, while it waits for room,
and, once its forward is done, until the check ends it (app.check.reference_side): the
comparison can then free Keras' files it kept for the layer. Layers left over at the end
are answered by a reference process started for them alone (`judged_all`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from app.analysis.reference import run_one_call, schedule, standardize_input
from app.check.keras import InvalidResult, load_output
from app.check.rejudge import ASKED, JUDGED, RejudgedCall
from app.check.streaming import LineReader, append_line
from app.errors import ExplainerError
from app.graph import ModelGraph, TensorRef

FOLDER = "rejudge"


class _NotListed(Exception):
    """An inbound tensor Keras did not write (a Keras operation's output)."""


class Judge:
    """Answers the comparison's questions for one model: `answer` one call, `serve` every
    question asked since the last time."""

    def __init__(
        self,
        folder: Path,
        graph: ModelGraph,
        weights: Sequence[np.ndarray],
        inputs: Sequence[np.ndarray],
        training: bool,
        stem: str = "",
    ) -> None:
        self.folder, self.graph, self.weights, self.training = folder, graph, weights, training
        self.given = {
            ref.layer: standardize_input(graph.layer(ref.layer), x)
            for ref, x in zip(graph.inputs, inputs, strict=True)
        }
        self.runs: dict[str, list[int]] = {}
        for node, call in schedule(graph):
            self.runs.setdefault(node.name, []).append(call)
        self.asked = LineReader(folder / ASKED)
        self.stem, self.count = stem, 0

    def serve(self) -> None:
        """Answer every question asked since the last call (none: a file that is not there)."""
        for entry in self.asked.new():
            try:
                call = RejudgedCall.model_validate(entry)
            except ValidationError:
                continue
            append_line(self.folder / JUDGED, self.answer(call))

    def answer(self, job: RejudgedCall) -> dict:
        """{"layer", "paths"}: our outputs of every call of the layer on Keras' inputs; or
        {"layer", "why"}."""
        tensor = self._tensor(job)
        try:
            outs = [
                out
                for call in self.runs.get(job.layer, [])
                for out in run_one_call(
                    self.graph,
                    self.weights,
                    self.graph.layer(job.layer),
                    call,
                    tensor,
                    training=self.training,
                )
            ]
        except (ExplainerError, _NotListed, InvalidResult, KeyError) as exc:
            why = getattr(exc, "message", None) or str(exc)
            return {"layer": job.layer, "why": f"Not judged on Keras' own inputs: {why}"}
        return {"layer": job.layer, "paths": [self._save(out) for out in outs]}

    def _save(self, array: np.ndarray) -> str:
        path = f"{FOLDER}/{self.stem}{self.count}.npy"
        (self.folder / FOLDER).mkdir(exist_ok=True)
        np.save(self.folder / path, np.asarray(array), allow_pickle=False)
        self.count += 1
        return path

    def _tensor(self, job: RejudgedCall):
        """The tensor a TensorRef names: the model's input, or Keras' output of the inbound
        layer (its files are every call's tensors in order, as many per call)."""

        def tensor(ref: TensorRef) -> np.ndarray:
            if ref.layer in self.given:
                return self.given[ref.layer]
            files, calls = job.keras.get(ref.layer), self.runs.get(ref.layer, [])
            per_call = len(files) // len(calls) if files and calls else 0
            if ref.node_index not in calls or ref.tensor_index >= per_call:
                raise _NotListed(f"its input {ref.layer!r} is not a layer Keras lists.")
            index = calls.index(ref.node_index) * per_call + ref.tensor_index
            return load_output(self.folder, files[index])

        return tensor


def judged_all(judge: Judge, calls: list[RejudgedCall]) -> tuple[dict, dict]:
    """Every call answered at once: ({layer: paths}, {layer: why})."""
    answers = [judge.answer(call) for call in calls]
    paths = {a["layer"]: a["paths"] for a in answers if "paths" in a}
    why = {a["layer"]: a["why"] for a in answers if "why" in a}
    return paths, why
