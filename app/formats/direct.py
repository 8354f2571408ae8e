"""A contiguous HDF5 dataset's values read straight from the file's bytes, without libhdf5.

Keras writes every weight as a contiguous, unfiltered dataset: its values are one plain byte
range of the file, at the offset HDF5 reports (`H5Dget_offset`, which counts a user block).
Reading that range with one `os.preadv` into a NumPy array costs one copy; through h5py, whose
`.keras` weights file is a Python file object (`app.safety.member.MemberWindow`), each read
went through HDF5's layers and a Python `readinto`: ResNet50's 25.6 million values took
80-110 ms of CPU that way against 30 ms.

`direct_values(dataset, raw)` gives a `DirectArray` for such a dataset, and None for any
other (chunked or compressed storage, storage never written, a byte range that is not the
dataset's exact size or not inside the file, bfloat16's opaque bytes, bool): those are read
through h5py, as before. Only metadata of the dataset is asked of h5py here, after the scan
walked it (`app.safety.hdf5_scan`).
"""

from __future__ import annotations

import math
import os
from typing import Any

import h5py
import numpy as np
from h5py import h5d

from app.safety.hdf5_scan import DatasetFacts
from app.safety.scanned import FileBytes

DIRECT_KINDS = frozenset("fiu")  # bool is stored as an HDF5 enum: read through h5py


class DirectArray:
    """A contiguous dataset's values: `shape`, `dtype` and NumPy indexing, each read from the
    file when asked. A block of whole trailing axes (what `app.analysis.stats.value_blocks`
    yields: integers, then at most one step-1 slice) reads just its bytes; any other index
    reads the whole array first."""

    def __init__(
        self, raw: FileBytes, offset: int, shape: tuple[int, ...], dtype: np.dtype
    ) -> None:
        self.raw, self.offset, self.shape, self.dtype = raw, offset, shape, dtype
        self.ndim, self.size = len(shape), math.prod(shape)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a scalar")
        return self.shape[0]

    def __getitem__(self, key: Any) -> Any:
        span = _span(self.shape, key)
        if span is None:
            return self._read(0, self.shape)[key]
        start, shape = span
        return self._read(start, shape)

    def read_block(self, key: Any, buffer: np.ndarray) -> np.ndarray:
        """`self[key]` read into the front of `buffer` (bytes, C-contiguous), as a view of
        them: a caller that reads block after block (app.analysis.stats) reuses one buffer,
        where a fresh array per block faulted its pages in one at a time (ResNet50's scan:
        ~7,000 page faults, ~10 ms). A key that is not one run of values, or that does not
        fit, is read as `self[key]`."""
        span = _span(self.shape, key)
        if span is None or math.prod(span[1]) * self.dtype.itemsize > buffer.nbytes:
            return self[key]
        start, shape = span
        out = buffer[: math.prod(shape) * self.dtype.itemsize].view(self.dtype).reshape(shape)
        read_into(self.raw, self.offset + start * self.dtype.itemsize, out)
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        values = self._read(0, self.shape)
        return values if dtype is None else values.astype(dtype, copy=False)

    def _read(self, first: int, shape: tuple[int, ...]) -> np.ndarray:
        """`shape`'s worth of values from the `first`-th (in C order)."""
        out = np.empty(shape, dtype=self.dtype)
        read_into(self.raw, self.offset + first * self.dtype.itemsize, out)
        return out


def read_into(raw: FileBytes, start: int, out: np.ndarray) -> None:
    """Fill `out` (C-contiguous) with the bytes at `start` of the image `raw`."""
    wanted = out.nbytes
    if start < 0 or start + wanted > raw.size:
        raise ValueError("a read past the end of the HDF5 image")
    target = memoryview(out.reshape(-1).view(np.uint8))
    if os.preadv(raw.fh.fileno(), [target], raw.offset + start) != wanted:
        raise OSError("the file is shorter than the HDF5 image it held")


def direct_values(
    dataset: h5py.Dataset | h5d.DatasetID, raw: FileBytes | None, facts: DatasetFacts | None = None
) -> DirectArray | None:
    """The dataset's values read directly from `raw` (its file's image), or None when they
    must be read through h5py. `dataset`: as h5py opens it, or its low-level id as the scan
    keeps it (then with its `facts`, which the caller has otherwise when it can)."""
    if raw is None:
        return None
    facts = facts or DatasetFacts.of(dataset)
    dtype, shape = facts.dtype, facts.shape
    if dtype.kind not in DIRECT_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        return None
    if facts.layout != h5d.CONTIGUOUS:
        return None
    nbytes = math.prod(shape) * dtype.itemsize
    offset = (dataset if isinstance(dataset, h5d.DatasetID) else dataset.id).get_offset()
    if offset is None or nbytes == 0 or facts.stored != nbytes:
        return None  # never written (its fill value), or empty
    if offset < 0 or offset + nbytes > raw.size:
        return None  # not inside the image: h5py says what is wrong
    return DirectArray(raw, int(offset), shape, dtype)


def _span(shape: tuple[int, ...], key: Any) -> tuple[int, tuple[int, ...]] | None:
    """(index of the first value, the result's shape) when `key` picks one contiguous run of
    values: integers for the leading axes, then at most one step-1 slice, every axis after
    whole. None for any other key."""
    key = key if isinstance(key, tuple) else (key,)
    if len(key) > len(shape) or any(k is Ellipsis or k is None for k in key):
        return None
    first, out_shape = 0, []
    for axis, k in enumerate(key):
        if isinstance(k, slice) and axis == len(key) - 1:
            start, stop, step = k.indices(shape[axis])
            if step != 1:
                return None
            first = first * shape[axis] + start
            out_shape.append(max(0, stop - start))
        elif isinstance(k, int | np.integer) and not isinstance(k, bool):
            index = int(k) + shape[axis] if k < 0 else int(k)
            if not 0 <= index < shape[axis]:
                return None  # NumPy's IndexError, from the whole-array path
            first = first * shape[axis] + index
        else:
            return None
    rest = shape[len(key) :]
    return first * math.prod(rest), (*out_shape, *rest)
