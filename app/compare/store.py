"""Comparisons kept by id, beside the reports (the same SQLite file, a table of its own; a
team's PostgreSQL in app.compare.postgres_store).

A comparison is written once, whole; its content key (both files' sha256 and this version
of the explainer) answers the same pair from the store. `prune` keeps the table within an
age and a size, as the reports' store does.
"""

from __future__ import annotations

import sqlite3
import time
import zlib
from pathlib import Path
from typing import Protocol

from app.compare.schemas import Comparison
from app.store.contract import prune_table
from app.store.sqlite import SqliteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS comparisons (
    id TEXT PRIMARY KEY,
    content_key TEXT,
    created_at REAL NOT NULL,
    body BLOB NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS comparisons_content_key ON comparisons (content_key, created_at);
"""


class ComparisonStore(Protocol):
    """Where comparisons are kept: SQLite beside one machine's reports, or a team's
    PostgreSQL (app.compare.postgres_store)."""

    def add(self, comparison: Comparison, content_key: str | None = None) -> None: ...

    def get(self, comparison_id: str) -> Comparison | None: ...

    def find(self, content_key: str) -> Comparison | None: ...

    def prune(self, max_age_s: float, max_bytes: int) -> int: ...


class SqliteComparisonStore:
    def __init__(self, path: Path) -> None:
        self.file = SqliteFile(path, SCHEMA)

    def add(self, comparison: Comparison, content_key: str | None = None) -> None:
        body = zlib.compress(comparison.model_dump_json().encode())
        with self._connect() as db:
            db.execute(
                "INSERT INTO comparisons (id, content_key, created_at, body, size) "
                "VALUES (?, ?, ?, ?, ?)",
                (comparison.id, content_key, time.time(), body, len(body)),
            )

    def get(self, comparison_id: str) -> Comparison | None:
        return self._one("SELECT body FROM comparisons WHERE id = ?", (comparison_id,))

    def find(self, content_key: str) -> Comparison | None:
        return self._one(
            "SELECT body FROM comparisons WHERE content_key = ? ORDER BY created_at DESC LIMIT 1",
            (content_key,),
        )

    def prune(self, max_age_s: float, max_bytes: int) -> int:
        """Delete comparisons older than `max_age_s`, then the oldest beyond `max_bytes`."""
        with self._connect() as db:
            deleted = prune_table(db, "comparisons", "?", max_age_s, max_bytes)
        return deleted

    def size_of(self, comparison_id: str) -> int | None:
        row = (
            self._connect()
            .execute("SELECT size FROM comparisons WHERE id = ?", (comparison_id,))
            .fetchone()
        )
        return row[0] if row else None

    def _one(self, sql: str, args: tuple) -> Comparison | None:
        row = self._connect().execute(sql, args).fetchone()
        return Comparison.model_validate_json(zlib.decompress(row[0])) if row else None

    def _connect(self) -> sqlite3.Connection:
        return self.file.connection()
