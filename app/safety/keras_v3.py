"""The scan of a `.keras` archive: members checked (`archive`) before any is read, config.json
and metadata.json parsed under the JSON caps (`safe_json`), the config scanned, and
model.weights.h5 walked (`hdf5_scan`) before any array is read.

The weights file is read in place when stored uncompressed (as Keras writes it), else
decompressed under the caps into an anonymous temporary file. A library's exception while
reading becomes `MalformedModel(DAMAGED_ARCHIVE)`, here and in the reader
(`app.formats.keras_v3`).
"""

from __future__ import annotations

import os
import struct
import tempfile
import zipfile
import zlib
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import h5py

from app.errors import MalformedModel, UnsafeFile, UnsupportedFormat
from app.safety.archive import (
    CONFIG_MEMBER,
    METADATA_MEMBER,
    WEIGHTS_H5,
    WEIGHTS_NPZ,
    copy_member,
    open_checked,
    read_json_member,
)
from app.safety.hdf5_scan import Walked, scan_hdf5
from app.safety.limits import ReadLimits
from app.safety.member import StoredMember
from app.safety.safe_json import load_json
from app.safety.scanned import FileBytes, ScannedArchive, file_config, translated

TEMP_PREFIX = "kex-reader-"  # every temporary file the scan makes (tests look for leaks)
ARCHIVE_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, KeyError,
                  ValueError, RuntimeError, NotImplementedError, UnicodeDecodeError, zlib.error,
                  struct.error, TypeError, IndexError, OverflowError)  # fmt: skip
DAMAGED_ARCHIVE = "The .keras archive is damaged or incomplete and could not be read."


def scan_keras_v3(path: Path, resources: ExitStack, limits: ReadLimits) -> ScannedArchive:
    """The archive at `path`, checked, opened in `resources`: its config, writer version and
    walked weights file."""
    with translated(ARCHIVE_ERRORS, DAMAGED_ARCHIVE):
        archive = _open_archive(path, resources, limits)
        stored = _stored_weights(archive)  # its CRC-32 summed while the rest is scanned
        try:
            config = file_config(_member_json(archive, CONFIG_MEMBER, limits))
            version = _writer_version(archive, limits)
        except BaseException:
            if stored is not None:
                _settle(stored)  # done with the file before the caller closes it
            raise
        weights, image, walked = _open_weights(archive, resources, limits, stored)
    return ScannedArchive(config, version, weights, resources, image, walked)


def _stored_weights(archive: zipfile.ZipFile) -> StoredMember | None:
    """model.weights.h5 when stored uncompressed (as Keras writes it), its CRC-32 being
    checked; None otherwise (absent, or compressed: `_open_weights` says what)."""
    if not _has(archive, WEIGHTS_H5):
        return None
    info = archive.getinfo(WEIGHTS_H5)
    return StoredMember(archive.fp, info) if info.compress_type == zipfile.ZIP_STORED else None


def _settle(stored: StoredMember) -> None:
    """Wait for the CRC-32's thread, whatever it found: the scan failed already."""
    try:
        stored.wait()
    except Exception:  # noqa: BLE001 - the scan's own error is the one raised
        pass


def _open_archive(path: Path, resources: ExitStack, limits: ReadLimits) -> zipfile.ZipFile:
    fh = resources.enter_context(Path(path).open("rb"))
    return resources.enter_context(open_checked(fh, limits))


def _writer_version(archive: zipfile.ZipFile, limits: ReadLimits) -> str | None:
    """metadata.json's `keras_version`; Keras does not need this file to load, nor do we,
    so a missing or unreadable one is ignored (a hostile one is not)."""
    try:
        metadata = _member_json(archive, METADATA_MEMBER, limits)
    except MalformedModel as exc:
        if isinstance(exc, UnsafeFile):
            raise
        return None
    return _text(metadata.get("keras_version")) if isinstance(metadata, dict) else None


def _has(archive: zipfile.ZipFile, name: str) -> bool:
    return name in archive.namelist()


def _member_json(archive: zipfile.ZipFile, name: str, limits: ReadLimits) -> Any:
    if not _has(archive, name):
        raise MalformedModel(f"The .keras archive has no {name}.")
    return load_json(
        read_json_member(archive, name, limits),
        what=f"The .keras archive's {name}",
        syntax_error=MalformedModel,
        limits=limits,
    )


def _open_weights(
    archive: zipfile.ZipFile, resources: ExitStack, limits: ReadLimits, stored: StoredMember | None
) -> tuple[h5py.File, FileBytes, Walked]:
    """model.weights.h5, walked before use, where its bytes are, and what the walk opened:
    read in place when stored uncompressed (as Keras writes it), else decompressed under
    the caps into an anonymous temporary file."""
    if not _has(archive, WEIGHTS_H5):
        if _has(archive, WEIGHTS_NPZ):
            raise UnsupportedFormat(
                "This .keras archive keeps its weights in NumPy .npz form, which the explainer "
                "does not read; save the model with the default weights format."
            )
        raise MalformedModel(f"The .keras archive has no {WEIGHTS_H5}.")
    info = archive.getinfo(WEIGHTS_H5)
    if stored is not None:  # walked while its CRC-32 is summed in a sibling process
        window = resources.enter_context(stored.walking_window())
        fileobj, image = window, FileBytes(archive.fp, window.offset, info.file_size)
    else:
        fileobj = resources.enter_context(tempfile.TemporaryFile(prefix=TEMP_PREFIX))
        copy_member(archive, info, fileobj, limits)
        image = FileBytes(fileobj, 0, os.fstat(fileobj.fileno()).st_size)
    try:
        weights = resources.enter_context(h5py.File(fileobj, "r"))
        walked = scan_hdf5(weights, limits)
    finally:  # on failure, a checksum that does not match is the error raised
        if stored is not None:
            stored.wait()
    return weights, image, walked


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
