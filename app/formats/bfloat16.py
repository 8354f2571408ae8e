"""bfloat16 weights as Keras stores them: 2-byte opaque HDF5 data (`|V2`) with a `dtype`
attribute saying bfloat16 (keras.src.saving.saving_lib's H5IOStore; a model whose dtype
policy is `bfloat16` keeps its variables so). NumPy has no bfloat16: the values are read as
float32, which holds every bfloat16 value exactly (its upper 16 bits are bfloat16's).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.graph import ArraySource


class Bfloat16Values:
    """A stored bfloat16 array read as float32: NumPy indexing and `np.asarray`."""

    dtype = np.dtype(np.float32)

    def __init__(self, raw: ArraySource) -> None:
        self.raw = raw
        self.shape = tuple(raw.shape)
        self.ndim, self.size = len(self.shape), int(np.prod(self.shape))

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a scalar")
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        return as_float32(np.asarray(self.raw[key]))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        values = self[()]
        return values if dtype is None else values.astype(dtype, copy=False)


def as_float32(bits: np.ndarray) -> np.ndarray:
    """bfloat16 values (any 2-byte dtype holding their bits) as float32."""
    wide = np.ascontiguousarray(bits).view(np.uint16).astype(np.uint32) << 16
    return wide.view(np.float32)
