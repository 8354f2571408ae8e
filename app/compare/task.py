"""Both files read and compared in one throwaway process (app.isolation), each side named.

The serving process never opens an upload's HDF5: the child reads `a`, then `b`, through
the readers and their safety scan (`read_model`), and sends an early answer after each, so
that a file that hangs or crashes the reader is named by its side. An error of ours raised
while reading a side comes back as the same class and code, with the side in its message
and in `details.side`. The child answers with the comparison's JSON bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from app import isolation
from app.analysis.resolve import resolve
from app.compare.build import SideModel, compare_models
from app.compare.schemas import Comparison, Side, new_comparison_id
from app.errors import ExplainerError, UnreadableFile
from app.explain import file_digest
from app.formats import read_model
from app.safety.limits import DEFAULT_LIMITS, ReadLimits
from app.schemas import Source


@dataclass(frozen=True)
class SideFile:
    """One side's model file, and what the caller already knows of it."""

    path: Path
    filename: str | None = None
    digest: tuple[str, int] | None = None  # (sha256, size), when taken on receipt
    report_id: str | None = None


def compare_files(
    a: SideFile,
    b: SideFile,
    limits: ReadLimits = DEFAULT_LIMITS,
    comparison_id: str | None = None,
) -> Comparison:
    """The comparison of two model files; an error names the side it comes from."""
    arguments = {
        "sides": [_plain(a), _plain(b)],
        "comparison_id": comparison_id or new_comparison_id(),
    }
    if not limits.isolate_hdf5:
        body = compare_task(a.path, limits, lambda _: None, **arguments)
        return Comparison.model_validate_json(body)
    with isolation.started(
        compare_task, a.path, _both_files(limits, a.path, b.path), **arguments
    ) as child:
        for side in ("a", "b"):
            with named(side):
                child.early()
        body = child.result()
    try:
        return Comparison.model_validate_json(body)
    except (TypeError, ValueError) as exc:
        raise UnreadableFile(isolation.INCOMPLETE) from exc


@contextmanager
def named(side: Side) -> Iterator[None]:
    """An error of ours raised inside, as the same class and code, naming `side`."""
    try:
        yield
    except ExplainerError as exc:
        if "side" in exc.details:
            raise
        raise side_error(side, exc) from exc


def side_error(side: Side, exc: ExplainerError) -> ExplainerError:
    error = type(exc)(f"Model {side}: {exc.message}", {**exc.details, "side": side})
    if hasattr(exc, "headers"):
        error.headers = exc.headers  # type: ignore[attr-defined]
    return error


def _both_files(limits: ReadLimits, a: Path, b: Path) -> ReadLimits:
    """The child's wall-clock limit grows with both files, each counted twice: it reads them,
    then goes over every value of both again to compare them (still at most the cap)."""
    extra = (a.stat().st_size + 2 * b.stat().st_size) // limits.isolation_bytes_per_s
    return replace(limits, isolation_floor_s=limits.isolation_floor_s + extra)


def _plain(side: SideFile) -> dict[str, Any]:
    return {**asdict(side), "path": str(side.path)}


@isolation.task
def compare_task(
    path: Path,
    limits: ReadLimits,
    early: isolation.Early,
    sides: list[dict[str, Any]],
    comparison_id: str,
) -> bytes:
    """In the throwaway process: read a, then b (an early answer after each), compare."""
    with ExitStack() as stack:
        models = []
        for side, fields in zip(("a", "b"), sides, strict=True):
            with named(side):
                side_file = SideFile(**{**fields, "path": Path(fields["path"])})
                models.append(_read_side(side_file, limits))
            stack.callback(models[-1].loaded.close)
            early({"read": side})
        return compare_models(*models, comparison_id).model_dump_json().encode()


def _read_side(side: SideFile, limits: ReadLimits) -> SideModel:
    loaded = read_model(side.path, limits)
    try:
        resolve(loaded.graph, weights_in_file=loaded.format != "spec_json")
    except BaseException:
        loaded.close()
        raise
    sha256, size = side.digest or file_digest(side.path)
    source = Source(
        format=loaded.format,
        sha256=sha256,
        size=size,
        keras_version=loaded.keras_version,
        backend=loaded.backend,
        filename=side.filename,
    )
    return SideModel(loaded, source, side.report_id)
