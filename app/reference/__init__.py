"""An independent NumPy forward pass: one small function per Keras layer class.

Each family module is named like its `app/layers` counterpart (Dense: `layers/core.py` and
`reference/core.py`) and registers its forwards (`@forward`) and own mask rules
(`@compute_mask`) into the index of `forwards.py`; importing this package imports them all.
The layer registry (`app.layers.registry`) puts each class's forward on its entry. Helpers:
`activations` (functions by name), `windows` (padding, patches), `interpolation` (image
resizing), `masking` (mask rules). Nothing here imports Keras, TensorFlow or JAX, nor
`app.layers`: this is the reference that Keras' own `predict` is checked against.
"""

from app.reference import (  # noqa: F401  (importing a family registers its forwards)
    activations,
    array_operations,
    attention,
    categorical,
    convlstm,
    convolution,
    core,
    masking,
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
from app.reference.forwards import COMPUTE_MASK, FORWARDS, forward, run_layer

__all__ = ["COMPUTE_MASK", "FORWARDS", "forward", "run_layer"]
