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


def _other_rules(side: LoadedModel) -> list[str]:
    said = tuple(f"{name} means" for name in CHANGED_ACTIVATIONS)
    return [s for s in writer_semantics(side.graph, side.keras_version) if not s.startswith(said)]


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
        entry, other = (pair.a, pair.b) if old == "a" else (pair.b, pair.a)
        kept = {(key, name) for _, key, name in activations(other.node.config, ())}
        for where, key, name in activations(entry.node.config, entry.path):
            if name in CHANGED_ACTIVATIONS and (key, name) in kept:
                found.append(
                    f"{'/'.join(where)} ({key} {name}): {name} means "
                    f"{CHANGED_ACTIVATIONS[name]}. {old} was written by Keras "
                    f"{versions[old]}, {new} by Keras {versions[new]}: where their configs "
                    "agree they still do not compute the same numbers."
                )
    return found


def _writer_sentences(a: LoadedModel, b: LoadedModel) -> list[str]:
    """Each side's writer sentences the other does not share; the activations' are said
    per layer above."""
    own_a, own_b = _other_rules(a), _other_rules(b)
    return [f"a: {s}" for s in own_a if s not in own_b] + [
        f"b: {s}" for s in own_b if s not in own_a
    ]
