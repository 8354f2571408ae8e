"""Reports kept by id: one small interface, SQLite behind it by default.

A report is written once, whole (the breakdown and BatchNormalization parts never change);
its check is a separate column that the check job updates as it progresses. A report may
carry a content key (the file's sha256 plus the options that shape the report) so that the
same upload can be answered from the store.

SQLite runs in WAL mode with one connection per thread: readers never wait for the writer,
and concurrent writers queue on SQLite's lock (`busy_timeout`) instead of failing.
"""

from __future__ import annotations

import json
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
    check_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_content_key ON reports (content_key, created_at);
"""


class ReportStore(Protocol):
    """What the service needs from a store; any backend that does this will do."""

    def add(self, report: Report, content_key: str | None = None) -> None: ...

    def get(self, report_id: str) -> Report | None: ...

    def find(self, content_key: str) -> Report | None: ...

    def set_check(self, report_id: str, check: CheckReport) -> None: ...


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
            db.execute(
                "INSERT INTO reports (id, content_key, created_at, body, check_json) "
                "VALUES (?, ?, ?, ?, ?)",
                (report.id, content_key, time.time(), body, report.check.model_dump_json()),
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

    def set_check(self, report_id: str, check: CheckReport) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE reports SET check_json = ? WHERE id = ?",
                (check.model_dump_json(), report_id),
            )

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
    body, check_json = row
    data = json.loads(zlib.decompress(body))
    data["check"] = json.loads(check_json)
    return Report.model_validate(data)
