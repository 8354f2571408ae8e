"""A weight's statistics: min, max, mean and std over all its values, read slice by slice.

The breakdown takes them of every stored weight (an h5py dataset is read a slice at a time, so
memory stays bounded on the largest kernels), the BatchNormalization analysis of its
per-channel arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.schemas import WeightStats

STATS_CHUNK = 1 << 20  # values read per slice: memory stays bounded on large kernels


def weight_stats(values: Any) -> WeightStats | None:
    """min, max, mean, std over all values, read slice by slice (float64 sums on purpose)."""
    shape = tuple(values.shape)
    if not shape:
        flat = np.asarray(values[()], dtype=np.float64).reshape(1)
        return _stats_of(flat.min(), flat.max(), flat.sum(), (flat**2).sum(), 1)
    count = int(np.prod(shape))
    if count == 0:
        return None
    rows_per_chunk = max(1, STATS_CHUNK // max(1, count // shape[0]))
    lo, hi, total, squares = np.inf, -np.inf, 0.0, 0.0
    for start in range(0, shape[0], rows_per_chunk):
        chunk = np.asarray(values[start : start + rows_per_chunk], dtype=np.float64)
        lo, hi = min(lo, chunk.min()), max(hi, chunk.max())
        total += chunk.sum()
        squares += (chunk**2).sum()
    return _stats_of(lo, hi, total, squares, count)


def _stats_of(lo: float, hi: float, total: float, squares: float, count: int) -> WeightStats:
    mean = total / count
    variance = max(0.0, squares / count - mean * mean)
    return WeightStats(min=float(lo), max=float(hi), mean=float(mean), std=float(variance**0.5))
