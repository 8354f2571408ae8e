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

FAMILIES = (normalization, core, regularization, activations, convolution, recurrent)


def looked_for(class_names: Iterable[str]) -> list[Mistake]:
    """The catalogue's mistakes on any of `class_names` (a model's), in catalogue order:
    what the report page lists beside its form."""
    wanted = set(class_names)
    return [m for m in CATALOGUE.values() if wanted.intersection(m.class_names)]
