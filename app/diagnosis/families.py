"""Every family of mistakes, imported once so that each registers in the catalogue."""

from app.diagnosis import (
    activations,
    convolution,
    core,
    normalization,
    recurrent,
    regularization,
)

FAMILIES = (normalization, core, regularization, activations, convolution, recurrent)
