"""Every family of mistakes, imported once so that each registers in the catalogue."""

from collections.abc import Iterable

from app.diagnosis import (
    activations,
    convolution,
    core,
    normalization,
    recurrent,
    regularization,
)
from app.diagnosis.catalogue import CATALOGUE, Mistake

# The order the model-wide search tries them in, the most common questions first.
FAMILIES = (normalization, core, regularization, activations, convolution, recurrent)


def looked_for(class_names: Iterable[str]) -> list[Mistake]:
    """The catalogue's mistakes on any of `class_names` (a model's), in catalogue order:
    what the report page lists beside its form."""
    wanted = set(class_names)
    return [m for m in CATALOGUE.values() if wanted.intersection(m.class_names)]


def most_common_first(mistakes: Iterable[Mistake]) -> list[Mistake]:
    """`mistakes` by family in FAMILIES' order (BatchNormalization's first), then as each
    family registers them: the catalogue itself is in import order, which is alphabetical."""
    rank = {family.__name__: i for i, family in enumerate(FAMILIES)}
    place = {code: i for i, code in enumerate(CATALOGUE)}
    return sorted(mistakes, key=lambda m: (rank[m.replay.__module__], place[m.code]))
