"""A weight's statistics: min, max, mean and std over its finite values, read slice by slice,
with its NaN and ±Inf values counted apart (a trained model can hold them; Keras loads it).

The breakdown takes them of every stored weight (an h5py dataset is read a slice at a time, so
memory stays bounded on the largest kernels), the BatchNormalization analysis of its
per-channel arrays. A kernel's scan also keys each output channel by its values' bit patterns
(`WeightScan.channel_keys`), in the same pass: the health findings look for identical
filters among channels whose keys are equal, without reading the kernel again.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.schemas import WeightStats

STATS_CHUNK = 1 << 20  # values read per slice: memory stays bounded on large kernels
WIDE_PIECE = 1 << 16  # values widened to float64 at a time: 512 KiB, in the CPU's cache
BIT_VIEWS = {2: np.uint16, 4: np.uint32, 8: np.uint64}  # a float's bits, by its itemsize


@dataclass(frozen=True)
class WeightScan:
    """One pass over a weight: its statistics, and (for a kernel asked with `channel_axis`)
    one key per output channel: the sum, wrapping at 2**64, of the bit patterns of that
    channel's values. Equal channels have equal keys, whatever order the slices come in;
    unequal ones almost never do (the health findings compare the values of those that do).
    None when the weight is not a float array, or a slice of it cuts across channels."""

    stats: WeightStats | None
    channel_keys: np.ndarray | None = None


def weight_stats(values: Any) -> WeightStats | None:
    """min, max, mean, std over the finite values, read slice by slice (float64 sums on
    purpose); NaN, ±Inf and exact zeros counted (sparsity: zeros over all values)."""
    return weight_scan(values).stats


def weight_scan(values: Any, channel_axis: int | None = None) -> WeightScan:
    """`weight_stats`, and with `channel_axis` (negative: -1 for a Dense or Conv kernel, -2
    for a transposed convolution's) the channel keys, from the same slices."""
    shape = tuple(int(d) for d in values.shape)
    if math.prod(shape) == 0:
        return WeightScan(None)
    sums = _Sums()
    keys = _ChannelKeys.for_shape(shape, channel_axis)
    for block in value_blocks(shape):
        chunk = _block_values(values, block)
        if keys is not None:
            keys = keys.add(chunk, block)
        sums.add(chunk.reshape(-1))
    return WeightScan(sums.stats(), keys.keys if keys is not None else None)


def row_stats(rows: np.ndarray) -> list[WeightStats] | None:
    """`weight_stats` of each row of a 2-D array, bit for bit, from one NumPy reduction over
    all the rows for each figure: the BatchNormalization analysis takes six per layer, of a
    few hundred values each (ResNet50: 318, ~20 µs each apart, mostly calls). Each row's
    sums are its own pairwise sums, as one row apart gets them. None when the rows are
    longer than one widened piece, or a row holds NaN or ±Inf: `weight_stats` then takes
    each row."""
    if rows.ndim != 2 or not 0 < rows.shape[1] <= min(WIDE_PIECE, STATS_CHUNK):
        return None
    lows, highs = np.minimum.reduce(rows, axis=1), np.maximum.reduce(rows, axis=1)
    if not (np.isfinite(lows).all() and np.isfinite(highs).all()):
        return None
    zeros = np.count_nonzero(rows == 0, axis=1).tolist()
    wide = rows.astype(np.float64)
    totals = np.add.reduce(wide, axis=1).tolist()
    squares = np.add.reduce(np.square(wide, out=wide), axis=1).tolist()
    found = []
    for low, high, total, square, zero in zip(
        lows.tolist(), highs.tolist(), totals, squares, zeros, strict=True
    ):
        sums = _Sums()
        sums.lo, sums.hi, sums.zeros = low, high, zero
        sums.total, sums.squares = 0.0 + (0.0 + total), 0.0 + (0.0 + square)  # as `add` sums
        sums.finite = sums.count = rows.shape[1]
        found.append(sums.stats())
    return found


def _block_values(values: Any, block: tuple) -> np.ndarray:
    """A block's values. A weight read straight from the file (`DirectArray.read_block`) is
    read into this thread's one buffer, as large as any block of its dtype: the block's
    scan is done with it before the next block is read."""
    read_block = getattr(values, "read_block", None)
    if read_block is None:
        return np.asarray(values[block])
    size = STATS_CHUNK * values.dtype.itemsize
    buffer = getattr(_scratch, "blocks", None)
    if buffer is None or buffer.nbytes < size:
        buffer = _scratch.blocks = np.empty(size, dtype=np.uint8)
    return read_block(block, buffer)


def channel_key_count(shape: tuple[int, ...], dtype: np.dtype, channel_axis: int | None) -> int:
    """How many channel keys `weight_scan` gives a weight of `shape` and `dtype`: one per
    channel, or -1 for None (not asked for, not a float array, or slices that cut across
    channels)."""
    keys = _ChannelKeys.for_shape(shape, channel_axis)
    if keys is None or math.prod(shape) == 0:
        return -1
    if dtype.kind != "f" or dtype.itemsize not in BIT_VIEWS:
        return -1
    first = next(value_blocks(shape), ())
    return -1 if len(first) > keys.axis else keys.channels


class _ChannelKeys:
    """Per-channel sums of bit patterns, slice by slice (integer sums: exact in any order)."""

    def __init__(self, shape: tuple[int, ...], axis: int) -> None:
        self.axis, self.channels = axis, shape[axis]
        self.inner = math.prod(shape[axis + 1 :])
        self.keys = np.zeros(self.channels, dtype=np.uint64)

    @classmethod
    def for_shape(cls, shape: tuple[int, ...], channel_axis: int | None) -> _ChannelKeys | None:
        if channel_axis is None or len(shape) < 2 or not -len(shape) <= channel_axis < 0:
            return None
        return cls(shape, len(shape) + channel_axis)

    def add(self, chunk: np.ndarray, block: tuple) -> _ChannelKeys | None:
        """None (no keys) when the slice cuts the channel axis or what follows it: a
        block's last index is a slice of one axis, every axis after it whole."""
        if len(block) > self.axis:
            return None
        view = BIT_VIEWS.get(chunk.dtype.itemsize)
        if chunk.dtype.kind != "f" or view is None:
            return None
        bits = np.ascontiguousarray(chunk).view(view).reshape(-1, self.channels, self.inner)
        self.keys += np.add.reduce(bits, axis=(0, 2), dtype=np.uint64)
        return self


def value_blocks(shape: tuple[int, ...], per_block: int = STATS_CHUNK) -> Iterator[tuple]:
    """Index tuples that cover an array of `shape` in order, each at most `per_block` values
    (or one value): whole rows when a row is small, slices of one row when a row alone is
    larger (a (1, 300_000_000) kernel is never read, or converted to float64, whole)."""
    if not shape:
        yield ()
        return
    if 0 < math.prod(shape) <= per_block:  # nearly every weight: one block, no np.ndindex
        yield (slice(0, max(1, per_block // max(1, math.prod(shape[1:])))),)
        return
    axis = next(a for a in range(len(shape)) if math.prod(shape[a + 1 :]) <= per_block)
    step = max(1, per_block // max(1, math.prod(shape[axis + 1 :])))
    for outer in np.ndindex(*shape[:axis]):
        for start in range(0, shape[axis], step):
            yield (*outer, slice(start, start + step))


def zero_count(chunk: np.ndarray) -> int:
    """The exact zeros in a slice (0.0 and -0.0; NaN is not one): the weight-health part of
    the statistics, named so that bench/costs_and_health.py can measure what it adds.
    `chunk == 0` counted, not `count_nonzero(chunk)`: NumPy counts a float array's nonzeros
    one value at a time, a boolean array's in vector steps (ResNet50's 25.6 million values:
    11 ms of CPU against 50)."""
    return int(np.count_nonzero(chunk == 0))


_scratch = threading.local()  # each thread's buffers (`wide_sums`, `_block_values`)


def wide_sums(values: np.ndarray) -> tuple[float, float]:
    """The sum and the sum of squares of a 1-D slice, in float64 (on purpose), widened
    `WIDE_PIECE` values at a time into a buffer that stays in the CPU's cache: a whole
    slice widened at once (8 MiB) went to memory and back three times, which took twice
    the time (ResNet50: 69 ms of CPU against 32)."""
    buffer = getattr(_scratch, "buffer", None)
    if buffer is None:
        buffer = _scratch.buffer = np.empty(WIDE_PIECE, dtype=np.float64)
    total = squares = 0.0
    for start in range(0, values.size, WIDE_PIECE):
        piece = values[start : start + WIDE_PIECE]
        wide = buffer[: piece.size]
        np.copyto(wide, piece, casting="unsafe")
        total += float(wide.sum())
        squares += float(np.square(wide, out=wide).sum())
    return total, squares


class _Sums:
    """What the statistics need, gathered one slice at a time."""

    def __init__(self) -> None:
        self.lo, self.hi, self.total, self.squares = np.inf, -np.inf, 0.0, 0.0
        self.finite = self.nan = self.inf = self.zeros = self.count = 0

    def add(self, chunk: np.ndarray) -> _Sums:
        """One slice, in its own dtype. Its min and max come first, in that dtype: a NaN or
        an infinity anywhere shows in them. A slice without one (nearly every slice of every
        real model) is summed in float64 with no mask and no copy of its finite values
        (`wide_sums`): 1.4 ms of CPU per million values instead of 12.5 (ResNet50's 25.6
        million: 0.17 s before). The sums are those of the careful way, bit for bit."""
        lo, hi = chunk.min(), chunk.max()
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return self._add_finite(chunk.astype(np.float64))
        self.zeros += zero_count(chunk)
        self.count += chunk.size
        self.lo, self.hi = min(self.lo, float(lo)), max(self.hi, float(hi))
        total, squares = wide_sums(chunk)
        self.total += total
        self.squares += squares
        self.finite += chunk.size
        return self

    def _add_finite(self, chunk: np.ndarray) -> _Sums:
        """The careful way: the finite values apart, NaN and ±Inf counted."""
        finite = chunk[np.isfinite(chunk)]
        self.nan += int(np.isnan(chunk).sum())
        self.inf += int(np.isinf(chunk).sum())
        self.zeros += zero_count(chunk)
        self.count += chunk.size
        if finite.size:
            self.lo, self.hi = min(self.lo, finite.min()), max(self.hi, finite.max())
            total, squares = wide_sums(finite)
            self.total += total
            self.squares += squares
            self.finite += finite.size
        return self

    def stats(self) -> WeightStats:
        if not self.finite:
            return WeightStats(
                min=None,
                max=None,
                mean=None,
                std=None,
                nan=self.nan,
                inf=self.inf,
                zeros=0,
                zero_fraction=0.0,
            )
        mean = self.total / self.finite
        variance = max(0.0, self.squares / self.finite - mean * mean)
        return WeightStats(
            min=float(self.lo),
            max=float(self.hi),
            mean=float(mean),
            std=float(variance**0.5),
            nan=self.nan,
            inf=self.inf,
            zeros=self.zeros,
            zero_fraction=self.zeros / self.count,
        )
