"""A weight's statistics: min, max, mean and std over its finite values, read slice by slice,
with its NaN and ±Inf values counted apart (a trained model can hold them; Keras loads it).

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
    """min, max, mean, std over the finite values, read slice by slice (float64 sums on
    purpose); NaN and ±Inf counted."""
    shape = tuple(values.shape)
    if not shape:
        return _Sums().add(np.asarray(values[()], dtype=np.float64).reshape(1)).stats()
    count = int(np.prod(shape))
    if count == 0:
        return None
    sums = _Sums()
    rows_per_chunk = max(1, STATS_CHUNK // max(1, count // shape[0]))
    for start in range(0, shape[0], rows_per_chunk):
        sums.add(np.asarray(values[start : start + rows_per_chunk], dtype=np.float64))
    return sums.stats()


class _Sums:
    """What the statistics need, gathered one slice at a time."""

    def __init__(self) -> None:
        self.lo, self.hi, self.total, self.squares = np.inf, -np.inf, 0.0, 0.0
        self.finite = self.nan = self.inf = 0

    def add(self, chunk: np.ndarray) -> _Sums:
        finite = chunk[np.isfinite(chunk)]
        self.nan += int(np.isnan(chunk).sum())
        self.inf += int(np.isinf(chunk).sum())
        if finite.size:
            self.lo, self.hi = min(self.lo, finite.min()), max(self.hi, finite.max())
            self.total += finite.sum()
            self.squares += (finite**2).sum()
            self.finite += finite.size
        return self

    def stats(self) -> WeightStats:
        if not self.finite:
            return WeightStats(min=None, max=None, mean=None, std=None, nan=self.nan, inf=self.inf)
        mean = self.total / self.finite
        variance = max(0.0, self.squares / self.finite - mean * mean)
        return WeightStats(
            min=float(self.lo),
            max=float(self.hi),
            mean=float(mean),
            std=float(variance**0.5),
            nan=self.nan,
            inf=self.inf,
        )
