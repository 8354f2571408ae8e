"""Comparisons kept in a team's PostgreSQL, beside its reports (migration 0004): what
`SqliteComparisonStore` does, on the report store's connection pool, so that a comparison made
through one replica is served by every other."""

from __future__ import annotations

import time
import zlib

from psycopg_pool import ConnectionPool

from app.compare.schemas import Comparison
from app.store.contract import prune_table


class PostgresComparisonStore:
    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def add(self, comparison: Comparison, content_key: str | None = None) -> None:
        body = zlib.compress(comparison.model_dump_json().encode())
        with self.pool.connection() as db:
            db.execute(
                "INSERT INTO comparisons (id, content_key, created_at, body, size) "
                "VALUES (%s, %s, %s, %s, %s)",
                (comparison.id, content_key, time.time(), body, len(body)),
            )

    def get(self, comparison_id: str) -> Comparison | None:
        return self._one("SELECT body FROM comparisons WHERE id = %s", (comparison_id,))

    def find(self, content_key: str) -> Comparison | None:
        return self._one(
            "SELECT body FROM comparisons WHERE content_key = %s ORDER BY created_at DESC LIMIT 1",
            (content_key,),
        )

    def prune(self, max_age_s: float, max_bytes: int) -> int:
        with self.pool.connection() as db:
            deleted = prune_table(db, "comparisons", "%s", max_age_s, max_bytes)
        return deleted

    def size_of(self, comparison_id: str) -> int | None:
        with self.pool.connection() as db:
            row = db.execute(
                "SELECT size FROM comparisons WHERE id = %s", (comparison_id,)
            ).fetchone()
        return row[0] if row else None

    def _one(self, sql: str, args: tuple) -> Comparison | None:
        with self.pool.connection() as db:
            row = db.execute(sql, args).fetchone()
        return Comparison.model_validate_json(zlib.decompress(row[0])) if row else None
