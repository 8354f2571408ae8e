"""One thread at a time through CPython's AST constructor, in this process.

NumPy reads a .npy header's dict with `ast.literal_eval`, and the reference's source is
parsed with `ast.parse` (app.reference.source). CPython 3.11 up to 3.11.7, which this project
runs on, counts the AST constructor's recursion depth in one counter per interpreter: two
threads building ASTs at once can fail with `SystemError: AST constructor recursion depth
mismatch` (python/cpython#106905). It was seen here once, while a check compared layers on
one thread and the worker pool checked the result's files on another. A .npy header is a few
hundred bytes: waiting for the lock costs nothing measurable.
"""

from __future__ import annotations

import threading
from typing import IO

import numpy as np
from numpy.lib import format as npy_format

AST_LOCK = threading.Lock()
NPY_HEADER_BYTES = 10_000  # NumPy's own default cap on a header

_HEADER_READERS = {
    (1, 0): npy_format.read_array_header_1_0,
    (2, 0): npy_format.read_array_header_2_0,
}


def read_npy_header(
    handle: IO[bytes], max_header_bytes: int = NPY_HEADER_BYTES
) -> tuple[tuple[int, ...], bool, np.dtype]:
    """A .npy file's shape, Fortran order and dtype, its handle left where the array
    starts; ValueError for a version other than 1.0 and 2.0 (3.0 exists only for structured
    dtypes with non-ASCII field names) or a header NumPy refuses."""
    with AST_LOCK:
        version = npy_format.read_magic(handle)
        reader = _HEADER_READERS.get(version)
        if reader is None:
            raise ValueError(f"npy format {version}")
        return reader(handle, max_header_size=max_header_bytes)
