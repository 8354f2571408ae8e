"""The domain entry points shared by the web routes and the CLI: one code path."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from app.analysis.report import build_report
from app.analysis.resolve import resolve
from app.formats import LoadedModel, read_model, read_spec
from app.schemas import Report, Source

HASH_CHUNK = 1 << 20


def explain_file(
    path: Path, filename: str | None = None, digest: tuple[str, int] | None = None
) -> Report:
    """Explain a model file (.keras, legacy HDF5 or spec JSON; the format comes from the bytes).

    `digest` is the file's (sha256, size) when the caller already has it.
    """
    digest, size = digest or file_digest(path)
    with read_model(path) as loaded:
        return _explain(loaded, digest, size, filename)


def explain_spec(spec: dict[str, Any] | str) -> Report:
    """Explain the JSON that model.to_json() writes, given as an object or a string."""
    raw = (spec if isinstance(spec, str) else json.dumps(spec, sort_keys=True)).encode()
    with read_spec(spec) as loaded:
        return _explain(loaded, hashlib.sha256(raw).hexdigest(), len(raw), None)


def _explain(loaded: LoadedModel, digest: str, size: int, filename: str | None) -> Report:
    resolve(loaded.graph, weights_in_file=loaded.format != "spec_json")
    source = Source(
        format=loaded.format,
        sha256=digest,
        size=size,
        keras_version=loaded.keras_version,
        backend=loaded.backend,
        filename=filename,
    )
    return build_report(loaded.graph, source, new_report_id())


def new_report_id() -> str:
    return uuid.uuid4().hex


def file_digest(path: Path) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size
