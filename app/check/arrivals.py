"""The comparison of a check, layer by layer as both sides' files arrive (app.check.streaming):
each layer is compared once both sides have listed it, then its files are deleted (Keras'
are kept while a layer still to be compared takes them, or one taking them failed:
app.check.rejudge), so the check's folder holds a window of layer outputs, not all of them.

`take()` is called every poll while the sides run; what it has compared goes to the final
comparison (app.check.compare.compare, `done`), which compares whatever is left from the
sides' own answers. A file that breaks the result contract (outside the folder, not a plain
.npy) ends the taking and is reported as `invalid-result`.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from app.analysis.batchnorm import BN_CLASSES
from app.check.batchnorm_modes import sample
from app.check.compare import ComparedModel, compare_layer
from app.check.keras import InvalidResult, load_output
from app.check.rejudge import ASKED, JUDGED, KerasKeep, calls_for, judged_again
from app.check.streaming import (
    KERAS_LAYERS,
    KERAS_LIST,
    KERAS_WAITING,
    REFERENCE_GO,
    REFERENCE_LIST,
    REFERENCE_WAITING,
    LineReader,
    append_line,
)
from app.schemas import CheckLayer

MAX_LISTING_BYTES = 8 * 1024 * 1024
# Polls in a row with both sides waiting and nothing to take before our side is told to go
# on (a side that was just given room takes a poll or so to stop waiting).
STUCK_POLLS = 3


class Arrivals:
    """The layers compared so far, and their Keras values a BN layer's page shows."""

    def __init__(
        self,
        folder: Path,
        compared: ComparedModel,
        tolerance: float,
        keras_names: dict[str, str] | None = None,
        judging: bool = False,
    ) -> None:
        self.folder, self.tolerance = folder, tolerance
        self.compared = compared
        # Our side answers as we go (app.check.rejudge_side): a layer over the tolerance end
        # to end is asked for at once, and judged on Keras' inputs when the answer comes.
        self.judging = judging
        self.awaiting: dict[str, CheckLayer] = {}  # asked, not answered yet
        self.judged_lines = LineReader(folder / JUDGED)
        self.classes = dict(compared.layers)
        self.keras_names = keras_names or {}  # the Keras 3 copy's name -> the file's
        self.keras_lines = LineReader(folder / KERAS_LIST)
        self.ours_lines = LineReader(folder / REFERENCE_LIST)
        self.keras_layers: dict[str, list[str]] | None = None
        self.kept: set[str] = set()
        self.uses: Counter[str] = Counter()
        self.keras_written: set[str] = set()
        self.ours: dict[str, list[str]] = {}
        self.done: dict[str, CheckLayer] = {}
        self.keras_samples: dict[str, dict[int, list[float]]] = {}
        self.keep = KerasKeep(folder, compared.inbound)
        self.invalid: str | None = None
        self.stuck = 0

    def take(self) -> None:
        """Compare every layer both sides have listed since the last call, and delete its
        files (a model output's are kept)."""
        if self.invalid is not None:
            return
        try:
            self._read_lists()
            ready = self._ready()
            for name in ready:
                self._compare(name)
            self._read_answers()
        except InvalidResult as exc:
            self.invalid = str(exc)
            return
        self._unstick(taken=bool(ready))

    def _unstick(self, taken: bool) -> None:
        """Both sides waiting with nothing to take, STUCK_POLLS times in a row: their layers
        come in different orders, so our side goes on (`reference-go`) until a layer can be
        taken again."""
        go = self.folder / REFERENCE_GO
        if taken:
            self.stuck = 0
            go.unlink(missing_ok=True)
            return
        both = (self.folder / KERAS_WAITING).exists() and (self.folder / REFERENCE_WAITING).exists()
        self.stuck = self.stuck + 1 if both else 0
        if self.stuck >= STUCK_POLLS:
            go.touch()

    def keras_sample(self, layer: str, axis: int) -> list[float] | None:
        return self.keras_samples.get(layer, {}).get(axis)

    def _read_lists(self) -> None:
        if self.keras_layers is None:
            self._read_keras_layers()
        for entry in self.keras_lines.new():
            if isinstance(entry.get("path"), str):
                self.keras_written.add(entry["path"])
        for entry in self.ours_lines.new():
            name, paths = entry.get("layer"), entry.get("paths")
            if isinstance(name, str) and isinstance(paths, list):
                self.ours[name] = [str(p) for p in paths]

    def _read_keras_layers(self) -> None:
        path = self.folder / KERAS_LAYERS
        if not path.is_file():
            return
        if path.stat().st_size > MAX_LISTING_BYTES:
            raise InvalidResult(f"{KERAS_LAYERS} is too large")
        try:
            listing = json.loads(path.read_bytes())
            layers = {
                self.keras_names.get(str(layer["name"]), str(layer["name"])): [
                    str(p) for p in layer["outputs"]
                ]
                for layer in listing["layers"]
            }
            kept = {str(p) for p in listing["model_outputs"]}
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidResult(f"{KERAS_LAYERS} does not list layers") from exc
        self.keras_layers, self.kept = layers, kept
        self.uses = Counter(p for paths in layers.values() for p in paths)

    def _ready(self) -> list[str]:
        if self.keras_layers is None:
            return []
        return [
            name
            for name, paths in self.ours.items()
            if name not in self.done
            and name in self.classes
            and name in self.keras_layers
            and all(p in self.keras_written for p in self.keras_layers[name])
        ]

    def _compare(self, name: str) -> None:
        assert self.keras_layers is not None
        theirs_paths = self.keras_layers[name]
        mine = [load_output(self.folder, p, mmap=True) for p in self.ours[name]]
        theirs = [load_output(self.folder, p, mmap=True) for p in theirs_paths]
        half = self.compared.precision.get(name)
        verdict = compare_layer(name, self.classes[name], mine, theirs, self.tolerance, half)
        self.done[name] = verdict
        if self.classes[name] in BN_CLASSES and theirs and np.ndim(theirs[0]) >= 2:
            first = theirs[0]
            self.keras_samples[name] = {a: sample(first, a) for a in range(1, first.ndim)}
        del mine, theirs
        for path in self.ours[name]:
            self._delete(path)
        failed = verdict.verdict == "failed" and verdict.max_rel_error is not None
        self.keep.compared(name, failed)  # pinned first: `taken` keeps its files
        for path in theirs_paths:
            self.uses[path] -= 1
            if self.uses[path] <= 0 and path not in self.kept:
                self.keep.taken(name, path)
        if failed and self.judging:
            self._ask(name, verdict)

    def _ask(self, name: str, verdict: CheckLayer) -> None:
        """Ask our side for `name` on Keras' inputs, or say at once why it cannot be."""
        needed = [name, *self.compared.inbound.get(name, [])]
        files = self.keras_files(needed)
        calls, unjudged = calls_for([name], self.compared, files, self.folder)
        if unjudged:
            self.done[name] = judged_again(verdict, None, unjudged[name], self._held_to(name))
            self.keep.judged(name)
            return
        (self.folder / ASKED).parent.mkdir(exist_ok=True)
        append_line(self.folder / ASKED, calls[0].model_dump())
        self.awaiting[name] = verdict

    def _read_answers(self) -> None:
        for entry in self.judged_lines.new():
            verdict = self.awaiting.pop(str(entry.get("layer")), None)
            if verdict is None:
                continue
            self.done[verdict.name] = self._judged(verdict, entry)
            self.keep.judged(verdict.name)

    def _judged(self, verdict: CheckLayer, answer: dict) -> CheckLayer:
        paths = answer.get("paths")
        if not isinstance(paths, list):
            why = str(answer.get("why") or "Not judged on Keras' own inputs.")
            return judged_again(verdict, None, why, self._held_to(verdict.name))
        mine = [load_output(self.folder, str(p), mmap=True) for p in paths]
        keras = self.keras_files([verdict.name])[verdict.name]
        theirs = [load_output(self.folder, p, mmap=True) for p in keras]
        half = self.compared.precision.get(verdict.name)
        again = compare_layer(verdict.name, verdict.class_name, mine, theirs, self.tolerance, half)
        del mine, theirs
        for path in paths:
            self._delete(str(path))
        return judged_again(verdict, again, None, self._held_to(verdict.name))

    def _held_to(self, name: str) -> float:
        return self.compared.held_to(name, self.tolerance)

    def unanswered(self, why: str) -> None:
        """The layers asked for and never answered keep their end-to-end verdict, and say why."""
        for name, verdict in self.awaiting.items():
            self.done[name] = judged_again(verdict, None, why, self._held_to(name))
        self.awaiting.clear()

    def keras_files(self, names: list[str] | None = None) -> dict[str, list[str]]:
        """Each layer's (or each of `names`') Keras files where they are now (kept/ once
        moved; a file deleted is listed still, and found missing)."""
        layers = self.keras_layers or {}
        chosen = layers if names is None else [n for n in names if n in layers]
        return {name: [self.keep.where(p) for p in layers[name]] for name in chosen}

    def _delete(self, relpath: str) -> None:
        path = (self.folder / relpath).resolve()
        if path.is_relative_to(self.folder.resolve()) and path.suffix == ".npy":
            path.unlink(missing_ok=True)
