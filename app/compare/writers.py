"""Each side's writer, and what Keras 2 → 3 computes otherwise where the configs agree.

The rules are `app.analysis.writer_semantics`' own (one place for what Keras versions
compute differently): for a layer matched across a Keras 1/2 writer and a Keras 3 one whose
activation Keras 3 computes with another formula (`hard_sigmoid`), a sentence naming the
layer; and each side's own writer sentences that the other side does not share.
"""

from __future__ import annotations

from app.analysis.writer_semantics import CHANGED_ACTIVATIONS, activations, writer_semantics
from app.compare.matching import Pair
from app.formats import LoadedModel


def major(keras_version: str | None) -> int | None:
    head = (keras_version or "").split(".", 1)[0]
    return int(head) if head.isdigit() else None


def drifts(a: LoadedModel, b: LoadedModel, pairs: list[Pair]) -> list[str]:
    return [*_activation_drifts(a, b, pairs), *_writer_sentences(a, b)]


def _activation_drifts(a: LoadedModel, b: LoadedModel, pairs: list[Pair]) -> list[str]:
    majors = (major(a.keras_version), major(b.keras_version))
    if None in majors or (majors[0] <= 2) == (majors[1] <= 2):  # type: ignore[operator]
        return []
    old, new = ("a", "b") if majors[0] <= 2 else ("b", "a")  # type: ignore[operator]
    versions = {"a": a.keras_version, "b": b.keras_version}
    found = []
    for pair in pairs:
        if pair.a is None or pair.b is None:
            continue
        entry = pair.a if old == "a" else pair.b
        for where, key, name in activations(entry.node.config, entry.path):
            if name in CHANGED_ACTIVATIONS:
                found.append(
                    f"{'/'.join(where)} ({key} {name}): {name} means "
                    f"{CHANGED_ACTIVATIONS[name]}. {old} was written by Keras "
                    f"{versions[old]}, {new} by Keras {versions[new]}: where their configs "
                    "agree they still do not compute the same numbers."
                )
    return found


def _writer_sentences(a: LoadedModel, b: LoadedModel) -> list[str]:
    own_a = writer_semantics(a.graph, a.keras_version)
    own_b = writer_semantics(b.graph, b.keras_version)
    return [f"a: {s}" for s in own_a if s not in own_b] + [
        f"b: {s}" for s in own_b if s not in own_a
    ]
