"""Layers judged again on Keras' own inputs: each layer is judged on its own computation.

A layer's output is compared with Keras' end to end: ours computed from our outputs of its
inbound layers, Keras' from Keras'. In a deep model float32 rounding carries from layer to
layer and random weights (weights=None) can amplify it, so a layer whose own computation
agrees with Keras' can show more than the tolerance end to end (EfficientNetV2B3's SE
blocks: block6a_se_expand 1.18e-4 against 1e-4, and 1.19e-7 on Keras' inputs). So a layer
over the tolerance end to end is judged again: our forward of that one layer
(app.analysis.reference.run_one_call, in a reference process: the serving process holds no
weights and never opens the upload), fed Keras' outputs of its inbound layers, against
Keras' output of it:

    within the tolerance on Keras' inputs   `passed`, with a note giving both errors: its
                                            own computation agrees; the end-to-end error
                                            is what its inputs carried
    over it on Keras' inputs too            `failed`: its own computation differs
    not judged again (its inputs were not   `failed`, with a note saying why
    kept, an input is a Keras operation's)

The first divergence is the first layer, in execution order, that fails so. A layer's
`max_abs_error` and `max_rel_error` stay its end-to-end errors: nothing is hidden.

The model's outputs: an output within the tolerance end to end passes; one over it passes
when the layer giving it passed on Keras' own inputs, and says both numbers (`note`). The
end-to-end error of an output is that layer's end-to-end error, and the question the check
answers is whether our forward computes what Keras computes: every layer, the last one
included, does. Holding the outputs to the tolerance end to end instead would fail models
whose float32 rounding the model itself amplifies (EfficientNetV2M with weights=None: every
one of its layers within 1e-6 on Keras' own inputs, 392 of them over 1e-4 end to end), which
no forward in float32 can match, Keras' own on another CPU included. An output no compared
layer gives (a Keras operation's, which Keras does not list) has no verdict of its own to go
by, and is held to the tolerance end to end. The exported program (app.export) compares the
outputs end to end too; for an output passed here it prints the check's note and passes it.

Asking as layers come (app.check.arrivals, with app.check.rejudge_side): a layer failing end
to end is asked for at once, and the check's own reference process, which has the weights,
answers between its layer calls and, once its forward is done, until the check ends it; a
layer left over at the end is answered by a reference process started for those alone
(app.check.pipeline.judge_again).

Keeping Keras' inputs (`KerasKeep`, in the serving process as layers are compared): once a
layer is compared, Keras' files of it are moved to kept/ instead of deleted while a layer
that takes them is still to be compared, and pinned there while such a layer that failed
end to end waits for its answer; they are deleted once nothing takes or pins them. Moved out
of outputs/, they no longer count in the Keras side's window (app.check.streaming), so a
waiting Keras worker is never kept waiting by them; they have a room of their own,
KEEP_BYTES: a file that does not fit is deleted as before, and a layer that would need it is
left `failed` with a note. The disk this costs is in app.check.disk.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from app.check.compare import ComparedModel, Comparison
from app.schemas import CheckLayer, CheckOutput

KEEP_BYTES = 1 << 30
KEPT = "kept"
# The questions to our side and its answers (app.check.rejudge_side has the protocol).
ASKED = "rejudge/asked.jsonl"
JUDGED = "rejudge/judged.jsonl"


class RejudgedCall(BaseModel):
    """One layer to run on Keras' inputs: Keras' files of each inbound layer (every call's
    tensors, in order, as the Keras worker lists them)."""

    model_config = ConfigDict(extra="forbid")

    layer: str
    keras: dict[str, list[str]]


class KerasKeep:
    """Keras' files of compared layers that a layer still to be compared (or one that
    failed) takes: moved to kept/, within KEEP_BYTES."""

    def __init__(self, folder: Path, inbound: Mapping[str, list[str]], room: int = KEEP_BYTES):
        self.folder, self.inbound, self.room = folder, inbound, room
        self.takers = Counter(name for names in inbound.values() for name in set(names))
        self.pinned: Counter[str] = Counter()  # by the failed layers not judged yet
        self.moved: dict[str, str] = {}  # outputs/<i>.npy -> kept/<i>.npy
        self.of_layer: dict[str, list[tuple[str, int]]] = {}  # kept/<i>.npy, bytes
        self.bytes = 0

    def taken(self, layer: str, path: str) -> None:
        """The comparison is done with `path`, one of Keras' files of `layer`: kept while a
        layer taking it is still to be compared or `layer` is pinned, else deleted."""
        if self.takers[layer] > 0 or self.pinned[layer] > 0:
            self._move(layer, path)
        else:
            _delete(self.folder, path)

    def compared(self, layer: str, failed: bool) -> None:
        """`layer` is compared: its inbound layers' files are pinned when it failed (and
        its own, which `taken` then keeps), deleted when nothing else takes them."""
        if failed:
            self.pinned.update({layer, *self.inbound.get(layer, [])})
        for name in set(self.inbound.get(layer, [])):
            self.takers[name] -= 1
            self._free(name)

    def judged(self, layer: str) -> None:
        """`layer`, which failed end to end, is judged again: what it pinned is let go."""
        for name in {layer, *self.inbound.get(layer, [])}:
            self.pinned[name] -= 1
            self._free(name)

    def _free(self, name: str) -> None:
        if self.takers[name] <= 0 and self.pinned[name] <= 0:
            for path, size in self.of_layer.pop(name, []):
                (self.folder / path).unlink(missing_ok=True)  # kept/<i>.npy: named here
                self.bytes -= size

    def where(self, path: str) -> str:
        """Where a file of Keras' is now: kept/ once moved there."""
        return self.moved.get(path, path)

    def _move(self, layer: str, path: str) -> None:
        source = self.folder / path
        try:
            size = os.stat(source).st_size
        except FileNotFoundError:
            return
        if self.bytes + size > self.room:  # no room: deleted, its takers not judged again
            _delete(self.folder, path)
            return
        kept = f"{KEPT}/{source.name}"
        if not self.bytes:
            (self.folder / KEPT).mkdir(exist_ok=True)
        os.replace(source, self.folder / kept)
        self.bytes += size
        self.moved[path] = kept
        self.of_layer.setdefault(layer, []).append((kept, size))


def _delete(folder: Path, relpath: str) -> None:
    path = (folder / relpath).resolve()
    if path.is_relative_to(folder.resolve()) and path.suffix == ".npy":
        path.unlink(missing_ok=True)


def to_judge_again(comparison: Comparison) -> list[str]:
    """The layers over the tolerance end to end not judged again yet (a note says how they
    were: app.check.arrivals judges them as they come; a shape mismatch is no rounding)."""
    return [
        layer.name
        for layer in comparison.layers
        if layer.verdict == "failed" and layer.max_rel_error is not None and layer.note is None
    ]


def calls_for(
    names: list[str],
    model: ComparedModel,
    keras_files: Mapping[str, list[str]],
    folder: Path,
) -> tuple[list[RejudgedCall], dict[str, str]]:
    """Each layer's call on Keras' inputs, or why it cannot be judged again; `keras_files`:
    every layer's files where they are now."""
    calls, unjudged = [], {}
    for name in names:
        needed = [name, *model.inbound.get(name, [])]
        unlisted = [n for n in needed if n not in keras_files]
        missing = [n for n in needed if n in keras_files and not _all_there(keras_files[n], folder)]
        if unlisted or missing:
            unjudged[name] = _why_not(unlisted, missing)
            continue
        inbound = {n: list(keras_files[n]) for n in model.inbound.get(name, [])}
        calls.append(RejudgedCall(layer=name, keras=inbound))
    return calls, unjudged


def _why_not(unlisted: list[str], missing: list[str]) -> str:
    if unlisted:
        return (
            f"Not judged on Keras' own inputs: Keras lists no outputs of {', '.join(unlisted)} "
            "(a Keras operation, which is not a layer)."
        )
    return (
        f"Not judged on Keras' own inputs: Keras' outputs of {', '.join(missing)} were not "
        f"kept (their room, {KEEP_BYTES:,} bytes, was full)."
    )


def _all_there(paths: list[str] | None, folder: Path) -> bool:
    return paths is not None and all((folder / p).is_file() for p in paths)


def judged_again(
    end_to_end: CheckLayer, again: CheckLayer | None, why_not: str | None, tolerance: float
) -> CheckLayer:
    """A layer over the tolerance end to end, with its verdict on Keras' own inputs
    (`again`: ours from Keras' inputs against Keras' output), or `why_not`."""
    if again is None or again.max_rel_error is None:
        note = why_not or again and again.note or "Not judged on Keras' own inputs."
        return end_to_end.model_copy(update={"note": note})
    own, carried = again.max_rel_error, end_to_end.max_rel_error
    if own <= tolerance:
        note = (
            f"On Keras' own inputs this layer is within {own:.2e}; the {carried:.2e} it shows "
            "end to end is what its inputs carry."
        )
        return end_to_end.model_copy(update={"verdict": "passed", "note": note})
    note = (
        f"On Keras' own inputs this layer is off by {own:.2e} too (over {tolerance:g}): its own "
        f"computation differs from Keras' (end to end: {carried:.2e})."
    )
    return end_to_end.model_copy(update={"note": note})


def with_judged_again(comparison: Comparison, judged: Mapping[str, CheckLayer]) -> Comparison:
    """The comparison with the layers judged again, and its first divergence the first
    layer failing so."""
    layers = [judged.get(layer.name, layer) for layer in comparison.layers]
    first = next((layer.name for layer in layers if layer.verdict == "failed"), None)
    return replace(comparison, layers=layers, first_divergence=first)


def carried_only(comparison: Comparison) -> list[str]:
    """The layers that passed on Keras' own inputs alone (over the tolerance end to end)."""
    return [
        layer.name
        for layer in comparison.layers
        if layer.verdict == "passed"
        and layer.max_rel_error is not None
        and layer.max_rel_error > comparison.held_to(layer.name)
    ]


def with_outputs_noted(comparison: Comparison) -> Comparison:
    """Each model output over the tolerance end to end whose layer passed on Keras' own
    inputs, with a note giving both numbers."""
    carried = set(carried_only(comparison))
    notes = {layer.name: layer.note for layer in comparison.layers if layer.name in carried}
    outputs = [
        output.model_copy(update={"note": _output_note(output, notes[output.name])})
        if output.name in notes and (output.max_rel_error or 0.0) > comparison.held_to(output.name)
        else output
        for output in comparison.outputs
    ]
    return replace(comparison, outputs=outputs)


def _output_note(output: CheckOutput, layer_note: str | None) -> str:
    return (
        f"{output.max_rel_error or 0.0:.2e} from Keras' end to end, over the tolerance; its "
        f"layer {output.name}: {layer_note or ''}"
    ).strip()
