"""Reports in one SQLite file: the default store, with nothing to install.

SQLite runs in WAL mode with one connection per thread: readers never wait for the writer,
and concurrent writers queue on SQLite's lock (`busy_timeout`) instead of failing.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from app.schemas import CheckReport, Report
from app.store.contract import Job, ReportJson, prune_table, report_body, report_from_row

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
CREATE TABLE IF NOT EXISTS drawings (
    report_id TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    body BLOB NOT NULL
);
"""


class SqliteFile:
    """One SQLite file in WAL mode, its tables made once, and a connection per thread
    (sqlite3 connections must not cross threads): the reports' store and the comparisons'
    (app.compare.store), which keeps its table in the same file."""

    def __init__(self, path: Path, schema: str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self.connection() as db:
            db.executescript(schema)

    def connection(self) -> sqlite3.Connection:
        """This thread's connection."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db


class SqliteReportStore:
    """Reports in one SQLite file; the report body is compressed JSON."""

    def __init__(self, path: Path) -> None:
        self.file = SqliteFile(path, SCHEMA)
        self.path = self.file.path

    def add(
        self,
        report: Report,
        content_key: str | None = None,
        job: Job | None = None,
        dumped: ReportJson | None = None,
    ) -> None:
        if job is not None:
            raise ValueError("queued checks need the PostgreSQL store (KEX_STORE_URL)")
        body = report_body(report, dumped)
        with self._connect() as db:
            check = report.check.model_dump_json()
            db.execute(
                "INSERT INTO reports (id, content_key, created_at, body, check_json, size) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (report.id, content_key, time.time(), body, check, len(body) + len(check)),
            )

    def get(self, report_id: str) -> Report | None:
        row = self._one("SELECT body, check_json FROM reports WHERE id = ?", (report_id,))
        return report_from_row(row) if row else None

    def find(self, content_key: str) -> Report | None:
        row = self._one(
            "SELECT body, check_json FROM reports WHERE content_key = ? "
            "ORDER BY created_at DESC LIMIT 1",
            (content_key,),
        )
        return report_from_row(row) if row else None

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
            db.execute("DELETE FROM drawings WHERE report_id = ?", (report_id,))

    def prune(self, max_age_s: float, max_bytes: int) -> int:
        """Delete reports older than `max_age_s`, then the oldest until the stored bodies
        take at most `max_bytes`; returns how many were deleted."""
        with self._connect() as db:
            deleted = prune_table(db, "reports", "?", max_age_s, max_bytes)
            db.execute("DELETE FROM drawings WHERE report_id NOT IN (SELECT id FROM reports)")
        return deleted

    def get_drawing(self, report_id: str, version: str) -> bytes | None:
        """A report's drawing (app.drawing) as kept, if kept by this `version` of it."""
        row = self._one(
            "SELECT body FROM drawings WHERE report_id = ? AND version = ?", (report_id, version)
        )
        return row[0] if row else None

    def set_drawing(self, report_id: str, version: str, body: bytes) -> None:
        """Keep a report's drawing beside it, so that a page view does not run `dot` again;
        it goes when the report goes (`prune`)."""
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO drawings (report_id, version, body) VALUES (?, ?, ?)",
                (report_id, version, body),
            )

    def size_of(self, report_id: str) -> int | None:
        """The bytes a report takes in the store (what `prune` counts)."""
        row = self._one("SELECT size FROM reports WHERE id = ?", (report_id,))
        return row[0] if row else None

    def close(self) -> None:
        """Nothing to release: each thread's connection closes with its thread."""

    def _one(self, sql: str, args: tuple) -> tuple | None:
        return self._connect().execute(sql, args).fetchone()

    def _connect(self) -> sqlite3.Connection:
        return self.file.connection()
