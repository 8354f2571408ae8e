"""A caller's inputs file (`.npy`, or `.npz` of several), read without trusting its headers.

`np.load` allocates whatever a header declares: a 128-byte `.npy` declaring 2⁴⁰ floats asks
for 8 TiB, and a 1 MB `.npz` whose members inflate to 1 GiB is inflated before any shape is
seen. Here every array's header is read first — its dtype must be a plain number type (no
Python objects, no structured or sub-array dtypes, at most 8 bytes a value, so that values
bound bytes) and its declared values within MAX_ARRAY_VALUES, all arrays together within
MAX_TOTAL_VALUES — and only then is the array read, which reads exactly the bytes that
header declared, so decompression is capped too.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import IO

import numpy as np

from app.ast_guard import AST_LOCK, read_npy_header
from app.errors import InvalidRequest

MAX_ARRAY_VALUES = 16 << 20  # one model input (the same cap `caller_inputs` applies)
MAX_TOTAL_VALUES = 64 << 20  # every array of an .npz together
MAX_MEMBERS = 64
MAX_ITEMSIZE = 8  # float64 and int64; a long double (float128) is no Keras dtype
MAX_HEADER_BYTES = 10_000  # numpy's own default limit for a header
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
NOT_ARRAYS = "The inputs file must be a .npy array or a .npz of arrays, without Python objects."


def read_input_file(path: Path) -> np.ndarray | dict[str, np.ndarray]:
    """The array of a `.npy`, or the arrays of a `.npz` by name (without `.npy`)."""
    with open(path, "rb") as fh:
        magic = fh.read(6)
        fh.seek(0)
        if magic == NPY_MAGIC:
            _allowed(_header(fh), "The inputs array")
            fh.seek(0)
            return _read(fh)
        if magic[:4] in ZIP_MAGIC:
            return _read_npz(fh)
    raise InvalidRequest(NOT_ARRAYS)


def _read_npz(fh: IO[bytes]) -> dict[str, np.ndarray]:
    try:
        archive = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InvalidRequest(NOT_ARRAYS) from exc
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) > MAX_MEMBERS:
            raise InvalidRequest(f"The inputs .npz holds {len(members)} arrays; at most 64.")
        total = 0
        for info in members:
            if not info.filename.endswith(".npy"):
                raise InvalidRequest(NOT_ARRAYS, {"member": info.filename[:100]})
            with _member(archive, info) as member:
                total += _allowed(_header(member), f"The inputs array {info.filename!r}")
        if total > MAX_TOTAL_VALUES:
            raise InvalidRequest(
                f"The inputs .npz declares {total:,} values in all; at most {MAX_TOTAL_VALUES:,}."
            )
        arrays = {}
        for info in members:
            with _member(archive, info) as member:
                arrays[info.filename.removesuffix(".npy")] = _read(member)
        return arrays


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> IO[bytes]:
    try:
        return archive.open(info)
    except (zipfile.BadZipFile, NotImplementedError, ValueError, OSError) as exc:
        raise InvalidRequest(NOT_ARRAYS) from exc


def _header(fh: IO[bytes]) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype an array's header declares; nothing of its data is read."""
    try:
        shape, _, dtype = read_npy_header(fh, MAX_HEADER_BYTES)
    except (ValueError, OSError, EOFError, TypeError, SyntaxError, zipfile.BadZipFile) as exc:
        raise InvalidRequest(NOT_ARRAYS) from exc
    return shape, dtype


def _allowed(header: tuple[tuple[int, ...], np.dtype], what: str) -> int:
    """The declared number of values, once the dtype and that number are acceptable."""
    shape, dtype = header
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise InvalidRequest(f"{what} has the dtype {dtype}; send plain numbers.")
    if dtype.kind not in "biuf" or not 0 < dtype.itemsize <= MAX_ITEMSIZE:
        raise InvalidRequest(
            f"{what} has the dtype {dtype}; send integers or floats of at most 64 bits."
        )
    values = math.prod(shape)
    if values > MAX_ARRAY_VALUES:
        raise InvalidRequest(
            f"{what} declares {values:,} values (shape {list(shape)}); "
            f"at most {MAX_ARRAY_VALUES:,} per input."
        )
    return values


def _read(fh: IO[bytes]) -> np.ndarray:
    """The array, reading just the bytes its (already checked) header declares."""
    try:
        with AST_LOCK:  # it reads the header again (app.ast_guard)
            return np.lib.format.read_array(fh, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InvalidRequest(NOT_ARRAYS) from exc
