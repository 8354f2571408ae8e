"""Which kind of model file this is, read from its bytes, never from its name.

    zip local-file header `PK\\x03\\x04` (or an empty archive's `PK\\x05\\x06`) → keras_v3
    HDF5 superblock `\\x89HDF\\r\\n\\x1a\\n` at 0, 512, 1024, 2048, ...     → legacy_h5
    optional UTF-8 BOM and whitespace, then `{` or `"`                  → spec_json

HDF5 allows a user block before the superblock, so the signature may sit at any power of two
from 512 up. Other frameworks' files (PyTorch, ONNX, TFLite, SavedModel) are refused with a
sentence naming what they are (app.safety.foreign); anything else with one naming what is
accepted.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Literal

from app.errors import MalformedModel, UnsupportedFormat
from app.safety.foreign import framework_of_bytes, refuse

Format = Literal["keras_v3", "legacy_h5", "spec_json"]

ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
UTF8_BOM = b"\xef\xbb\xbf"
JSON_WHITESPACE = b" \t\r\n"
JSON_HEAD_BYTES = 4096  # leading whitespace longer than this is not a spec anyone wrote
ACCEPTED = ".keras archive, legacy HDF5 (.h5/.hdf5), or the JSON of model.to_json()"


def sniff_path(path: Path) -> Format:
    """The format of the file at `path`, from its leading bytes (and HDF5's user-block offsets)."""
    try:
        with Path(path).open("rb") as fh:
            return _sniff_stream(fh)
    except OSError as exc:
        raise MalformedModel("The uploaded file could not be read.") from exc


def sniff_bytes(data: bytes) -> Format:
    """The format of a file whose content (or at least its first kilobytes) is `data`."""
    if not data:
        raise _empty()
    hdf5 = any(data[off : off + 8] == HDF5_SIGNATURE for off in hdf5_offsets(len(data)))
    return _classify(data[:JSON_HEAD_BYTES], hdf5)


def hdf5_offsets(size: int) -> list[int]:
    """Where an HDF5 superblock may start in a file of `size` bytes: 0, then 512 · 2^k."""
    offsets = [0]
    offset = 512
    while offset + len(HDF5_SIGNATURE) <= size:
        offsets.append(offset)
        offset *= 2
    return offsets


def _sniff_stream(fh: BinaryIO) -> Format:
    head = fh.read(JSON_HEAD_BYTES)
    if not head:
        raise _empty()
    size = fh.seek(0, 2)
    hdf5 = False
    for offset in hdf5_offsets(size):
        fh.seek(offset)
        if fh.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE:
            hdf5 = True
            break
    return _classify(head, hdf5)


def _classify(head: bytes, hdf5: bool) -> Format:
    if head.startswith(ZIP_MAGICS):
        return "keras_v3"
    if hdf5:
        return "legacy_h5"
    if _looks_like_json(head):
        return "spec_json"
    if framework := framework_of_bytes(head):
        raise refuse(framework)
    raise UnsupportedFormat(
        f"This file is not a Keras model the explainer can read. Accepted: a {ACCEPTED}."
    )


def _looks_like_json(head: bytes) -> bool:
    text = head[len(UTF8_BOM) :] if head.startswith(UTF8_BOM) else head
    text = text.lstrip(JSON_WHITESPACE)
    return text[:1] in (b"{", b'"')


def _empty() -> UnsupportedFormat:
    return UnsupportedFormat(f"The file is empty. Accepted: a {ACCEPTED}.")
