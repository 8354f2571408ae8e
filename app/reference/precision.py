"""Half precision as Keras computes it: a layer whose dtype policy computes in float16 or
bfloat16 (`mixed_float16`, `mixed_bfloat16`, or `float16` itself).

Keras casts such a layer's floating inputs to its compute dtype, and its variables too
(autocast; float32 variables under a mixed policy), computes, and hands on an output of that
dtype. The normalization layers are the exception: their variables are made with
`autocast=False`, and they compute in float32 from the cast inputs before casting their
output back (keras.src.layers.normalization: "BN is prone to overflow with float16/bfloat16
inputs"; their registry entries say so: `Traits.float32_variables`). The reference follows
the casts: inputs and autocast weights rounded to the compute dtype, the layer's arithmetic
in float32, its output rounded. What it cannot follow
is the order in which a half-precision kernel adds (TensorFlow's float16 matmul on one CPU
or another), so the check holds such a layer to its dtype's precision, not float32's
(app.check.compare).

Values stay float32 arrays holding the rounded numbers: NumPy has no bfloat16, and float32
holds every float16 and bfloat16 value exactly.
"""

from __future__ import annotations

import numpy as np

HALF = ("float16", "bfloat16")
BFLOAT16_ROUNDING = 0x7FFF  # round to nearest, ties to even, on the upper 16 bits of float32
BFLOAT16_KEPT = 0xFFFF0000


def autocast(inputs: list[np.ndarray], dtype: str) -> list[np.ndarray]:
    """A layer's floating inputs in its compute dtype, as Keras' `Layer.__call__` casts them
    (DTypePolicy.convert_input): a float16 output into a float32 layer (a mixed-precision
    model's last Activation) is computed in float32, not in float16."""
    if dtype in HALF or not hasattr(np, dtype):
        return inputs
    return [
        x.astype(dtype)
        if isinstance(x, np.ndarray) and x.dtype.kind == "f" and x.dtype != dtype
        else x
        for x in inputs
    ]


def half_compute_dtype(policy_compute_dtype: str) -> str | None:
    """`float16` or `bfloat16` when a layer computes in it, else None."""
    return policy_compute_dtype if policy_compute_dtype in HALF else None


def rounded(x: np.ndarray, dtype: str) -> np.ndarray:
    """A floating array's values rounded to `dtype` (float16 or bfloat16), as float32; any
    other array (integers, booleans) as it is."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        return x
    if dtype == "float16":
        return x.astype(np.float16).astype(np.float32)
    return to_bfloat16(x.astype(np.float32, copy=False))


def to_bfloat16(x: np.ndarray) -> np.ndarray:
    """float32 values rounded to bfloat16 (nearest, ties to even; NaN stays NaN), as float32."""
    bits = x.view(np.uint32)
    tie = (bits >> 16) & 1
    kept = ((bits + BFLOAT16_ROUNDING + tie) & BFLOAT16_KEPT).view(np.float32)
    return np.where(np.isnan(x), x, kept)
