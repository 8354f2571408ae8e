"""Layer outputs handed from the two sides to the comparison as they are written, so that a
check's folder never holds every layer's outputs at once (app.check.disk has the figures).

Each side appends one JSON line to its list once a layer's files are complete; the
comparison (app.check.pipeline, in the serving process) reads both lists as they grow, and
compares a layer as soon as both sides have listed it, then deletes its files. A side that
has written WINDOW_BYTES the comparison has not taken yet waits before writing more:

    outputs/written.jsonl     the Keras worker: {"path": "outputs/<i>.npy", "shape": [...]}
                              per tensor, once its file is written: as the eager call
                              computes it, or after its group (app.check.keras.outputs);
                              outputs/layers.json, written before the first group, names each
                              layer's tensors and the model's outputs
    reference/written.jsonl   our side: {"layer": name, "paths": [...]} once every call of
                              the layer is written (app.check.reference_side)
    keras-waiting             present while the Keras worker waits for room
    reference-waiting         present while our side waits for room
    reference-go              written by the comparison when both sides wait and it has
                              nothing to take (their layers come in different orders): our
                              side writes on until the comparison can take a layer again
    reference-ended           written by the serving process once our side has ended: the
                              Keras worker no longer waits for room (nobody takes its files)

A side does not wait once the other has ended (the Keras worker's result.json,
`reference-ended`). Two sides whose layers come in the same order never both wait with
nothing to take; when they do (orders that differ), `reference-go` lets our side write past
its window until the layers Keras holds are written on our side too. A model's
outputs are never deleted: they are compared last and exported. The lists hold names and
paths only: whatever they say, every file is read through app.check.keras.jobs.load_output
(inside the folder, a plain .npy, no Python objects).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

WINDOW_BYTES = 1 << 30
KERAS_LIST = "outputs/written.jsonl"
KERAS_LAYERS = "outputs/layers.json"
REFERENCE_LIST = "reference/written.jsonl"
KERAS_WAITING = "keras-waiting"
REFERENCE_WAITING = "reference-waiting"
REFERENCE_GO = "reference-go"
REFERENCE_ENDED = "reference-ended"
WAIT_S = 0.05


def append_line(path: Path, entry: dict[str, Any]) -> None:
    """One JSON line, in one write to a file opened for appending (a reader sees the whole
    line or none of it)."""
    data = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


class LineReader:
    """The complete lines a list has gained since the last `new()` (a half-written last line
    waits for its end)."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0

    def new(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1
        self.offset += end
        entries = []
        for line in data[:end].splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                entries.append(entry)
        return entries


class Room:
    """What one side has written that the comparison has not taken (deleted) yet; `wait`
    blocks until `size` more fits in the window, or `go_on()` says not to wait."""

    def __init__(self, folder: Path, window: int = WINDOW_BYTES) -> None:
        self.folder, self.window = folder, window
        self.pending: dict[str, int] = {}  # path (relative to folder) -> bytes

    def add(self, path: str, size: int) -> None:
        self.pending[path] = size

    def held(self) -> int:
        folder = str(self.folder)
        self.pending = {
            p: s for p, s in self.pending.items() if os.path.exists(os.path.join(folder, p))
        }
        return sum(self.pending.values())

    def wait(self, size: int, go_on: Callable[[], bool], on_wait: Callable[[bool], None]) -> None:
        """Return once `size` more bytes fit in the window beside what is held (or nothing
        is held: one layer larger than the window goes alone), or once `go_on()`. What is
        held is looked at on disk only when all that was added would not leave room: a
        file per layer looked for again at every layer cost ResNet50's reference side
        about 0.5 s of CPU (15,000 stats) for a window it never filled."""
        if sum(self.pending.values()) + size <= self.window:
            return
        waiting = False
        try:
            while True:
                held = self.held()
                if held == 0 or held + size <= self.window or go_on():
                    return
                if not waiting:
                    waiting = True
                    on_wait(True)
                time.sleep(WAIT_S)
        finally:
            if waiting:
                on_wait(False)


def exists(folder: Path, name: str) -> Callable[[], bool]:
    return lambda: (folder / name).exists()


def marker(folder: Path, name: str) -> Callable[[bool], None]:
    """Create (True) or remove (False) the marker file `name`."""

    def mark(on: bool) -> None:
        path = folder / name
        if on:
            path.touch()
        else:
            path.unlink(missing_ok=True)

    return mark
