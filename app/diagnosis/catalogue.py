"""The catalogue of known mistakes: each a small, named variant of one class's reference
forward, replayed to see whether it reproduces a user's numbers.

A `Mistake` holds what a person needs to recognise it: a stable `code`, the classes it
concerns, a `title`, an `explain(config, weights)` sentence with the layer's own numbers,
and the `fix` as a one-line code change. Its `replay(config, weights, inputs, theirs)`
returns the mistaken forward's output in one or more *forms* (label -> array): the same
mistake made with the layer's epsilon or with none, each permutation of four arrays, ...;
an empty dict when the mistake cannot be made on this layer (no bias to leave out, a kernel
that cannot be transposed). `theirs` is the user's output of this very layer when they gave
it, else None: only a mistake that leaves a random trace (dropout's mask) reads it.
A mistake that `reshapes` gives an output of another shape than Keras' (return_sequences
confused): only such mistakes are searched for an array whose shape is not its layer's.

The families live in modules named like app/reference's (normalization, core,
regularization, activations, convolution, reshaping, recurrent) and register here when
imported; `app.diagnosis.families` imports them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

Config = Mapping[str, Any]
Weights = Mapping[str, np.ndarray]
Forms = dict[str, np.ndarray]
Replay = Callable[[Config, Weights, list[np.ndarray], "np.ndarray | None"], Forms]
Explain = Callable[[Config, Weights], str]


@dataclass(frozen=True)
class Mistake:
    """One known mistake: a variant of the forward of `class_names`."""

    code: str
    class_names: tuple[str, ...]
    title: str
    explain: Explain
    fix: str
    replay: Replay
    reshapes: bool = False


CATALOGUE: dict[str, Mistake] = {}


def mistake(
    code: str,
    *class_names: str,
    title: str,
    explain: Explain | str,
    fix: str,
    reshapes: bool = False,
) -> Callable[[Replay], Replay]:
    """Register `replay` as the mistake `code` for `class_names`."""
    sentence = explain if callable(explain) else (lambda _config, _weights: explain)

    def register(replay: Replay) -> Replay:
        if code in CATALOGUE:
            raise RuntimeError(f"mistake {code} registered twice")
        CATALOGUE[code] = Mistake(code, class_names, title, sentence, fix, replay, reshapes)
        return replay

    return register


def mistakes_for(class_name: str, reshaping: bool = False) -> list[Mistake]:
    """The catalogue's mistakes made on a layer of `class_name`, in catalogue order; with
    `reshaping`, only those that change the output's shape."""
    return [
        m
        for m in CATALOGUE.values()
        if class_name in m.class_names and (m.reshapes or not reshaping)
    ]


def finite_forms(forms: Forms) -> Forms:
    """The forms whose every value is finite (a permutation that puts a negative number
    under a square root reproduces nobody's numbers)."""
    with np.errstate(all="ignore"):
        return {k: v for k, v in forms.items() if np.all(np.isfinite(v))}
