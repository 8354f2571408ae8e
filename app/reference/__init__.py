"""An independent NumPy forward pass: one small function per Keras layer class.

`FORWARDS` (class name → forward function) and `run_layer` live in `kernels.py`; importing
this package registers every family module. Nothing here imports Keras, TensorFlow or JAX:
this is the reference that Keras' own `predict` is checked against.
"""

from app.reference import (  # noqa: F401  (importing a family registers its forwards)
    attention,
    convlstm,
    convolution,
    layers,
    masking,
    merging,
    normalization,
    operations,
    pooling,
    recurrent,
    reshaping,
    resizing,
    wrappers,
)
from app.reference.kernels import FORWARDS, forward, run_layer

__all__ = [
    "FORWARDS",
    "convolution",
    "forward",
    "layers",
    "merging",
    "normalization",
    "pooling",
    "reshaping",
    "run_layer",
]
