"""An independent NumPy forward pass: one small function per Keras layer class.

`FORWARDS` (class name → forward function) and `run_layer` live in `forwards.py`; importing
this package registers every family module. Nothing here imports Keras, TensorFlow or JAX:
this is the reference that Keras' own `predict` is checked against.
"""

from app.reference import (  # noqa: F401  (importing a family registers its forwards)
    attention,
    convlstm,
    convolution,
    core,
    masking,
    merging,
    normalization,
    operations,
    pooling,
    preprocessing,
    recurrent,
    reshaping,
    wrappers,
)
from app.reference.forwards import FORWARDS, forward, run_layer

__all__ = [
    "FORWARDS",
    "convolution",
    "core",
    "forward",
    "merging",
    "normalization",
    "pooling",
    "reshaping",
    "run_layer",
]
