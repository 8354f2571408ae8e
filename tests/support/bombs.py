"""The worst cases for the serving process's memory, built small: each a few hundred bytes to
a megabyte that would make a careless server allocate a gibibyte or more.

    bn_spec                 Input((4,)) → Dense(50_000_000) → BatchNormalization: about 300
                            bytes of JSON, 50 million channels
    subarray_dtype_spec     an Input whose dtype has a sub-array shape: 8 "elements" of
                            128 MiB each
    npz_bomb                a .npz of about 1 MB whose member inflates to 1 GiB
    deflated_npz            any header followed by a GiB of zeros (a member that inflates far
                            past what its header declares)
    npy_header_bomb         a .npy header declaring 2⁴⁰ float32 values, and no data
    chunk_bomb              a legacy .h5 whose Dense kernel is one deflated HDF5 chunk of
                            256 MiB stored in 0.4 MB: under the scan's whole-dataset ratio,
                            but every partial read inflates the whole chunk again
"""

from __future__ import annotations

import functools
import io
import json
import shutil
import struct
import zlib
from pathlib import Path
from typing import Any

import h5py
import numpy as np

GiB = 1 << 30
BOMB_UNITS = 50_000_000
CHUNK_BOMB_SIDE = 8192  # an 8192 × 8192 float32 kernel: 256 MiB in one chunk
# One nonzero byte per this many: deflate gives about 680:1, under the scan's 1000:1 for a
# whole dataset, so only the chunk's own size gives it away.
SPARSE_EVERY = 4096


def bn_spec() -> dict[str, Any]:
    """What model.to_json() writes for Input((4,)) → Dense(50_000_000) → BatchNormalization
    (by hand: Keras would build 450 million parameters)."""
    return _sequential(
        "bn_bomb",
        {"class_name": "Dense", "config": {"name": "dense", "units": BOMB_UNITS}},
        {"class_name": "BatchNormalization", "config": {"name": "bn", "axis": -1}},
    )


def subarray_dtype_spec() -> dict[str, Any]:
    """An Input of 8 values whose dtype "(4096,4096)f8" makes each value 128 MiB."""
    return _sequential(
        "subarray",
        {"class_name": "Dense", "config": {"name": "dense", "units": 2}},
        input_dtype="(4096,4096)f8",
        width=8,
    )


def _sequential(name: str, *layers: dict, input_dtype: str = "float32", width: int = 4) -> dict:
    first = {
        "class_name": "InputLayer",
        "config": {"batch_shape": [None, width], "dtype": input_dtype, "name": "x"},
    }
    return {"class_name": "Sequential", "config": {"name": name, "layers": [first, *layers]}}


def npy_header(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    """An .npy header declaring `shape` and `descr`, with no data after it."""
    buffer = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def npy_header_bomb() -> bytes:
    return npy_header((1 << 40,))


def npz_bomb() -> bytes:
    """x0.npy: a header for 2²⁸ float32 values (1 GiB) and the GiB itself, deflated."""
    return deflated_npz(npy_header((GiB // 4,)), GiB)


def deflated_npz(head: bytes, zeros: int) -> bytes:
    """A .npz of one member, x0.npy: `head` then `zeros` zero bytes, deflated (by streaming:
    the member is never whole in memory)."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    # A sync flush ends the head's blocks on a byte boundary, unfinished: the zeros' own
    # stream (made once per process) follows as the rest of the same deflate stream.
    first = deflate.compress(head) + deflate.flush(zlib.Z_SYNC_FLUSH)
    deflated = first + _deflated_zeros(zeros)
    return _zip_of_one("x0.npy", deflated, len(head) + zeros, _crc_of(head, zeros))


@functools.cache
def _deflated_zeros(size: int) -> bytes:
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = bytes(1 << 20)
    return b"".join([*(deflate.compress(block) for _ in range(size >> 20)), deflate.flush()])


def _crc_of(head: bytes, zeros: int) -> int:
    crc, block = zlib.crc32(head), bytes(1 << 20)
    for _ in range(zeros >> 20):
        crc = zlib.crc32(block, crc)
    return crc


# A local header and the central directory both carry these fields, in this order: version
# needed, flags, method (8: deflate), time and date, CRC-32, compressed size, size, name length.
_SHARED_FIELDS = struct.Struct("<HHHIIIIH")


def _zip_of_one(name: str, deflated: bytes, size: int, crc: int) -> bytes:
    """A zip of one deflated member, written from its already-compressed bytes."""
    # By hand (zipfile would deflate a GiB itself): a local header, the data, a central
    # directory and an end record; no Zip64 below 4 GiB.
    name_bytes = name.encode()
    shared = _SHARED_FIELDS.pack(20, 0, 8, 0, crc, len(deflated), size, len(name_bytes))
    local = b"PK\x03\x04" + shared + struct.pack("<H", 0) + name_bytes  # no extra field
    # version made by; then extra, comment, disk, internal and external attributes, offset 0
    central = b"PK\x01\x02" + struct.pack("<H", 20) + shared + bytes(16) + name_bytes
    offset = len(local) + len(deflated)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), offset, 0)
    return local + deflated + central + end


def chunk_bomb(small_h5: Path, target: Path, side: int = CHUNK_BOMB_SIDE) -> Path:
    """`small_h5` (a legacy .h5 of Input((4,)) → Dense(4, use_bias=False, name="d"), as
    Keras saves it) made into Input((side,)) → Dense(side): the kernel one deflated chunk."""
    shutil.copyfile(small_h5, target)
    with h5py.File(target, "a") as h5:
        config = json.loads(h5.attrs["model_config"])
        layers = config["config"]["layers"]
        layers[0]["config"]["batch_shape"] = [None, side]
        layers[1]["config"]["units"] = side
        h5.attrs["model_config"] = json.dumps(config)
        group = h5[_kernel_path(h5["model_weights/d"])].parent
        del group["kernel"]
        kernel = group.create_dataset(
            "kernel", shape=(side, side), dtype="<f4", chunks=(side, side), compression="gzip"
        )
        kernel.id.write_direct_chunk((0, 0), _sparse_deflated(side * side * 4))
    return target


def _kernel_path(layer: h5py.Group) -> str:
    """Where the layer's kernel is: model_weights/d/<the model's name>/d/kernel in Keras 3,
    whose model name (sequential, sequential_1, ...) depends on what the process built
    before."""
    found: list[str] = []
    layer.visititems(lambda name, obj: found.append(obj.name) if name.endswith("kernel") else None)
    return found[0]


def _sparse_deflated(size: int) -> bytes:
    """`size` bytes, zero but for one byte in SPARSE_EVERY, zlib-compressed (HDF5's gzip)."""
    block = bytearray(1 << 20)
    block[::SPARSE_EVERY] = b"\x01" * len(block[::SPARSE_EVERY])
    deflate = zlib.compressobj(6)
    out = [deflate.compress(bytes(block)) for _ in range(size >> 20)]
    return b"".join([*out, deflate.flush()])
