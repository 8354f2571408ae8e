"""The hand: per Keras layer class, its settings line, formula and conventions in Keras
vocabulary, the words beside the reference forward's code on the report.

Each family module is named like its `app/layers` and `app/reference` counterparts and
registers its rules (`@hand`) into the index of `rules.py`; importing this package imports
them all. The registry (`app.layers.registry`) puts each class's rule on its entry. Nothing
here imports `app.layers`; nothing here reads weights' values.
"""

from app.hand import (  # noqa: F401  (importing a family registers its rules)
    activations,
    array_operations,
    attention,
    categorical,
    convlstm,
    convolution,
    core,
    math_operations,
    merging,
    normalization,
    op_layers,
    operations,
    pooling,
    preprocessing,
    recurrent,
    regularization,
    reshaping,
    wrappers,
)
from app.hand.rules import HANDS, Facts, Hand, hand

__all__ = ["HANDS", "Facts", "Hand", "hand"]
