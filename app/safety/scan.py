"""The scan of one upload: its bytes checked and validated into a typed value for a reader.

    identify(path)            the format from the bytes (`sniff`), refused if two (`polyglot`)
    scan_file(path, limits)   → ScannedArchive  `.keras` zip        (`keras_v3.scan_keras_v3`)
                              → ScannedHdf5     legacy HDF5         (`legacy_h5.scan_legacy_h5`)
                              → ScannedSpec     model.to_json() in a file (`spec_json`)
    scan_spec(spec, limits)   → ScannedSpec     the same given as an object or a string

What each value holds is in `app.safety.scanned`. Errors are `app.errors` classes; a file's
open resources are closed here when its scan raises.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from app.safety.keras_v3 import scan_keras_v3
from app.safety.legacy_h5 import scan_legacy_h5
from app.safety.limits import DEFAULT_LIMITS, ReadLimits
from app.safety.polyglot import refuse_polyglot
from app.safety.scanned import Scanned
from app.safety.sniff import Format, sniff_path
from app.safety.spec_json import scan_spec, scan_spec_file

__all__ = ["identify", "scan_file", "scan_spec"]


def identify(path: Path) -> Format:
    """The format of the file at `path`, from its bytes; refused when it reads as two."""
    fmt = sniff_path(path)
    refuse_polyglot(path, fmt)
    return fmt


def scan_file(
    path: Path, limits: ReadLimits = DEFAULT_LIMITS, fmt: Format | None = None
) -> Scanned:
    """Scan the file at `path` (of format `fmt` when the caller `identify`-ed it already)."""
    fmt = fmt or identify(path)
    if fmt == "spec_json":
        return scan_spec_file(path, limits)
    if fmt == "keras_v3":
        return _owning(scan_keras_v3, path, limits)
    return _owning(scan_legacy_h5, path, limits)


FileScan = Callable[[Path, ExitStack, ReadLimits], Scanned]


def _owning(scan: FileScan, path: Path, limits: ReadLimits) -> Scanned:
    """Run `scan` with fresh `resources`, closed here if the scan does not succeed."""
    resources = ExitStack()
    try:
        return scan(path, resources, limits)
    except BaseException:
        resources.close()
        raise
