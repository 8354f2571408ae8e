"""What the service needs from a report store, and the stored form every backend shares: the
report's JSON without its check, compressed, with the check in a column of its own."""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from app.schemas import CheckReport, Report

# Work committed with a report, in the transaction that stores it: a queued check's job
# (app.queue.submit), given the store's connection. Only a store on a server has one.
Job = Callable[[Any], None]


class ReportStore(Protocol):
    """What the service needs from a store; any backend that does this will do."""

    def add(
        self,
        report: Report,
        content_key: str | None = None,
        job: Job | None = None,
        dumped: ReportJson | None = None,
    ) -> None: ...

    def get(self, report_id: str) -> Report | None: ...

    def find(self, content_key: str) -> Report | None: ...

    def set_check(self, report_id: str, check: CheckReport) -> None: ...

    def get_check(self, report_id: str) -> CheckReport | None: ...

    def remove(self, report_id: str) -> None: ...

    def prune(self, max_age_s: float, max_bytes: int) -> int: ...

    def get_drawing(self, report_id: str, version: str) -> bytes | None: ...

    def set_drawing(self, report_id: str, version: str, body: bytes) -> None: ...

    def close(self) -> None: ...


# The report's fields written after its check, in pydantic's order (`reference_code`).
_FIELDS = list(Report.model_fields)
_AFTER_CHECK = set(_FIELDS[_FIELDS.index("check") + 1 :])


@dataclass(frozen=True)
class ReportJson:
    """A report's JSON written once, around its check: the fields before it (`head`, the
    object without its closing brace) and after it (`tail`, with its leading comma). The
    stored body (`without_check`) and the answer (`with_check`) are made from them, byte for
    byte what pydantic writes for each: one dump of the report where there were two
    (ResNet50's 1.7 MB: ~5 ms each)."""

    head: bytes
    tail: bytes

    def without_check(self) -> bytes:
        return self.head + self.tail + b"}"

    def with_check(self, check: CheckReport) -> bytes:
        return self.head + b',"check":' + check.model_dump_json().encode() + self.tail + b"}"


def report_json(report: Report) -> ReportJson:
    head = report.model_dump_json(exclude={"check", *_AFTER_CHECK}).encode()
    tail = report.model_dump_json(include=_AFTER_CHECK).encode() if _AFTER_CHECK else b"{}"
    return ReportJson(head[:-1], b"," + tail[1:-1] if len(tail) > 2 else b"")


def report_body(report: Report, dumped: ReportJson | None = None) -> bytes:
    """The stored body: the report without its check (the check changes; the body never);
    from `dumped` when the caller has written it already."""
    if dumped is not None:
        return zlib.compress(dumped.without_check())
    return zlib.compress(report.model_dump_json(exclude={"check"}).encode())


def report_from_row(row: tuple) -> Report:
    """The stored body (the report's JSON object without its check) with the check put back
    as the last key, read by pydantic from the text: several times faster than json.loads
    and model_validate on a large report."""
    body, check_json = row
    text = zlib.decompress(body).rstrip()
    if not text.endswith(b"}"):
        raise ValueError("a stored report body is not a JSON object")
    return Report.model_validate_json(text[:-1] + b',"check":' + check_json.encode() + b"}")


def prune_table(db: Any, table: str, placeholder: str, max_age_s: float, max_bytes: int) -> int:
    """Delete the rows of `table` (reports, comparisons: `id`, `created_at`, `size`) older
    than `max_age_s`, then the oldest until the rest take at most `max_bytes`; how many went.
    `db` is a SQLite or psycopg connection, `placeholder` its parameter mark (`?`, `%s`);
    `table` is one of ours, never a caller's."""
    old = db.execute(
        f"DELETE FROM {table} WHERE created_at < {placeholder}", (time.time() - max_age_s,)
    ).rowcount
    over = db.execute(
        f"DELETE FROM {table} WHERE id IN (SELECT id FROM (SELECT id, SUM(size) OVER "
        f"(ORDER BY created_at DESC, id) AS kept FROM {table}) AS sized "
        f"WHERE kept > {placeholder})",
        (max_bytes,),
    ).rowcount
    return old + over
