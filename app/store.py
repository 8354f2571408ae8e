"""Reports kept by id: one small interface, SQLite behind it by default.

A report is written once, whole (the breakdown and BatchNormalization parts never change);
its check is a separate column that the check updates as it progresses. `prune` keeps
the store within an age and a size (the size counted as the compressed bodies). A report may
carry a content key (the file's sha256 plus the options that shape the report) so that the
same upload can be answered from the store.

SQLite runs in WAL mode with one connection per thread: readers never wait for the writer,
and concurrent writers queue on SQLite's lock (`busy_timeout`) instead of failing.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import zlib
from pathlib import Path
from typing import Protocol

from app.schemas import CheckReport, Report

BUSY_TIMEOUT_S = 30.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    id TEXT PRIMARY KEY,
    content_key TEXT,
    created_at REAL NOT NULL,
    body BLOB NOT NULL,
    check_json TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_content_key ON reports (content_key, created_at);
"""


class ReportStore(Protocol):
    """What the service needs from a store; any backend that does this will do."""

    def add(self, report: Report, content_key: str | None = None) -> None: ...

    def get(self, report_id: str) -> Report | None: ...

    def find(self, content_key: str) -> Report | None: ...

    def set_check(self, report_id: str, check: CheckReport) -> None: ...

    def get_check(self, report_id: str) -> CheckReport | None: ...

    def remove(self, report_id: str) -> None: ...

    def prune(self, max_age_s: float, max_bytes: int) -> int: ...


class SqliteReportStore:
    """Reports in one SQLite file; the report body is compressed JSON."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connect() as db:
            db.executescript(SCHEMA)

    def add(self, report: Report, content_key: str | None = None) -> None:
        body = zlib.compress(report.model_dump_json(exclude={"check"}).encode())
        with self._connect() as db:
            check = report.check.model_dump_json()
            db.execute(
                "INSERT INTO reports (id, content_key, created_at, body, check_json, size) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (report.id, content_key, time.time(), body, check, len(body) + len(check)),
            )

    def get(self, report_id: str) -> Report | None:
        row = self._one("SELECT body, check_json FROM reports WHERE id = ?", (report_id,))
        return _report(row) if row else None

    def find(self, content_key: str) -> Report | None:
        row = self._one(
            "SELECT body, check_json FROM reports WHERE content_key = ? "
            "ORDER BY created_at DESC LIMIT 1",
            (content_key,),
        )
        return _report(row) if row else None

    def get_check(self, report_id: str) -> CheckReport | None:
        """The check alone, without reading the report's body."""
        row = self._one("SELECT check_json FROM reports WHERE id = ?", (report_id,))
        return CheckReport.model_validate_json(row[0]) if row else None

    def set_check(self, report_id: str, check: CheckReport) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE reports SET check_json = ? WHERE id = ?",
                (check.model_dump_json(), report_id),
            )

    def remove(self, report_id: str) -> None:
        """Delete one report (a request that stored it and was then refused)."""
        with self._connect() as db:
            db.execute("DELETE FROM reports WHERE id = ?", (report_id,))

    def prune(self, max_age_s: float, max_bytes: int) -> int:
        """Delete reports older than `max_age_s`, then the oldest until the stored bodies
        take at most `max_bytes`; returns how many were deleted."""
        with self._connect() as db:
            old = db.execute(
                "DELETE FROM reports WHERE created_at < ?", (time.time() - max_age_s,)
            ).rowcount
            over = db.execute(
                "DELETE FROM reports WHERE id IN (SELECT id FROM (SELECT id, SUM(size) OVER "
                "(ORDER BY created_at DESC, id) AS kept FROM reports) WHERE kept > ?)",
                (max_bytes,),
            ).rowcount
        return old + over

    def size_of(self, report_id: str) -> int | None:
        """The bytes a report takes in the store (what `prune` counts)."""
        row = self._one("SELECT size FROM reports WHERE id = ?", (report_id,))
        return row[0] if row else None

    def _one(self, sql: str, args: tuple) -> tuple | None:
        return self._connect().execute(sql, args).fetchone()

    def _connect(self) -> sqlite3.Connection:
        """This thread's connection (sqlite3 connections must not cross threads)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db


def _report(row: tuple) -> Report:
    """The stored body (the report's JSON object without its check) with the check put back
    as the last key, read by pydantic from the text: several times faster than json.loads
    and model_validate on a large report."""
    body, check_json = row
    text = zlib.decompress(body).rstrip()
    if not text.endswith(b"}"):
        raise ValueError("a stored report body is not a JSON object")
    return Report.model_validate_json(text[:-1] + b',"check":' + check_json.encode() + b"}")
