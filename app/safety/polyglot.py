"""Files that are two formats at once are refused.

Readers disagree on such bytes: `zipfile` finds an archive by the end-of-central-directory
record at the end of a file, h5py finds HDF5 by a superblock at 0, 512, 1024, ...; Keras picks
its loader by `zipfile.is_zipfile` or by the file name. A legacy HDF5 file with a zip appended
would be scanned by us as HDF5 and loaded by Keras as a `.keras` archive we never looked into.
So the format the sniffer found must be the only one the bytes answer to, as far as a reader
downstream would look: an HDF5 file or a spec must not also be a zip archive. (The sniffer
already takes any file with an HDF5 superblock for HDF5 before JSON. A `.keras` archive may hold
a superblock at a power-of-two offset by chance, its weights member being stored uncompressed,
but every reader, ours and the worker's, takes it for the zip it starts as: no disagreement.)
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from app.errors import MalformedModel, PolyglotFile
from app.safety.sniff import Format


def refuse_polyglot(path: Path, fmt: Format) -> None:
    """Raise `PolyglotFile` when `path` also reads as a format other than `fmt`."""
    others = _formats_found(path, fmt)
    if others:
        raise PolyglotFile(
            f"This file reads both as {_label(fmt)} and as {_label(others[0])}; files that are "
            "two formats at once are refused, because each reader would see another model.",
            details={"formats": [fmt, *others]},
        )


def _formats_found(path: Path, fmt: Format) -> list[Format]:
    """The formats, other than the sniffed one, that a downstream reader could take it for."""
    if fmt == "keras_v3":
        return []
    try:
        return ["keras_v3"] if zipfile.is_zipfile(path) else []
    except OSError as exc:
        raise MalformedModel("The uploaded file could not be read.") from exc


def _label(fmt: str) -> str:
    return {"keras_v3": "a zip (.keras) archive", "legacy_h5": "HDF5"}.get(fmt, "JSON")
