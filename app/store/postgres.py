"""The report store on PostgreSQL: the contract of `ReportStore`, shared by replicas.

Connections come from psycopg's pool; each method is one short transaction. The table is the
one migration 0001 creates (`keras-explainer migrate`); opening the store checks it is there
and says which command makes it, rather than failing on the first request.
"""

from __future__ import annotations

import time
from typing import Any

from psycopg_pool import ConnectionPool

from app.schemas import CheckReport, Report
from app.store.contract import Job, ReportJson, prune_table, report_body, report_from_row

POOL_MIN, POOL_MAX = 1, 8
# NOTIFY channel of check updates, payload the report id: a replica waiting on a check that a
# worker elsewhere runs wakes at once (app.queue.submit), polling being only the fallback.
CHECK_CHANNEL = "kex_check"
CONNECT_TIMEOUT_S = 10.0


class SchemaMissing(RuntimeError):
    """The database has no `reports` table: `keras-explainer migrate` has not run."""


class PostgresReportStore:
    """Reports in PostgreSQL; the report body is compressed JSON, as in SQLite."""

    def __init__(self, url: str, max_connections: int = POOL_MAX) -> None:
        self.url = url
        self.pool = ConnectionPool(
            url, min_size=POOL_MIN, max_size=max_connections, open=False, name="kex-store"
        )
        self.pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        with self.pool.connection() as db:
            if db.execute("SELECT to_regclass('reports')").fetchone()[0] is None:
                self.close()
                raise SchemaMissing(
                    "The PostgreSQL database has no reports table: run `keras-explainer "
                    "migrate` with the same KEX_STORE_URL first."
                )

    def close(self) -> None:
        self.pool.close()

    def add(
        self,
        report: Report,
        content_key: str | None = None,
        job: Job | None = None,
        dumped: ReportJson | None = None,
    ) -> None:
        """The report, and `job` (a queued check's) on the same connection: one transaction,
        so there is never a report whose check was lost, nor a check without its report."""
        body = report_body(report, dumped)
        check = report.check.model_dump_json()
        with self.pool.connection() as db:
            db.execute(
                "INSERT INTO reports (id, content_key, created_at, body, check_json, size) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (report.id, content_key, time.time(), body, check, len(body) + len(check)),
            )
            if job is not None:
                job(db)

    def claim_attempt(self, report_id: str) -> int | None:
        """A new attempt at the report's check: its number, which every write of this attempt
        carries (`set_check_fenced`); None when the report is gone."""
        row = self._one(
            "UPDATE reports SET attempt = attempt + 1 WHERE id = %s RETURNING attempt",
            (report_id,),
        )
        return row[0] if row else None

    def set_check_fenced(self, report_id: str, check: CheckReport, attempt: int) -> bool:
        """`set_check` only while `attempt` is the report's latest; False: a later attempt
        took the check over (this one's writes are dropped)."""
        with self.pool.connection() as db:
            updated = db.execute(
                "UPDATE reports SET check_json = %s WHERE id = %s AND attempt = %s",
                (check.model_dump_json(), report_id, attempt),
            ).rowcount
            if updated:
                _notify(db, report_id)
        return updated == 1

    def get(self, report_id: str) -> Report | None:
        row = self._one("SELECT body, check_json FROM reports WHERE id = %s", (report_id,))
        return report_from_row(row) if row else None

    def find(self, content_key: str) -> Report | None:
        row = self._one(
            "SELECT body, check_json FROM reports WHERE content_key = %s "
            "ORDER BY created_at DESC LIMIT 1",
            (content_key,),
        )
        return report_from_row(row) if row else None

    def get_check(self, report_id: str) -> CheckReport | None:
        row = self._one("SELECT check_json FROM reports WHERE id = %s", (report_id,))
        return CheckReport.model_validate_json(row[0]) if row else None

    def set_check(self, report_id: str, check: CheckReport) -> None:
        with self.pool.connection() as db:
            db.execute(
                "UPDATE reports SET check_json = %s WHERE id = %s",
                (check.model_dump_json(), report_id),
            )
            _notify(db, report_id)

    def remove(self, report_id: str) -> None:
        """Delete one report (a request that stored it and was then refused); its drawing
        goes with it."""
        with self.pool.connection() as db:
            db.execute("DELETE FROM reports WHERE id = %s", (report_id,))

    def prune(self, max_age_s: float, max_bytes: int) -> int:
        with self.pool.connection() as db:
            deleted = prune_table(db, "reports", "%s", max_age_s, max_bytes)
        return deleted

    def get_drawing(self, report_id: str, version: str) -> bytes | None:
        row = self._one(
            "SELECT body FROM drawings WHERE report_id = %s AND version = %s",
            (report_id, version),
        )
        return bytes(row[0]) if row else None

    def set_drawing(self, report_id: str, version: str, body: bytes) -> None:
        """Kept beside the report (deleted with it: ON DELETE CASCADE); a report deleted
        meanwhile keeps nothing."""
        with self.pool.connection() as db:
            db.execute(
                "INSERT INTO drawings (report_id, version, body) "
                "SELECT %s, %s, %s WHERE EXISTS (SELECT 1 FROM reports WHERE id = %s) "
                "ON CONFLICT (report_id) DO UPDATE SET version = EXCLUDED.version, "
                "body = EXCLUDED.body",
                (report_id, version, body, report_id),
            )

    def size_of(self, report_id: str) -> int | None:
        row = self._one("SELECT size FROM reports WHERE id = %s", (report_id,))
        return row[0] if row else None

    def _one(self, sql: str, args: tuple) -> tuple | None:
        with self.pool.connection() as db:
            return db.execute(sql, args).fetchone()


def _notify(db: Any, report_id: str) -> None:
    """Sent when the transaction commits, so a listener reads the new check."""
    db.execute("SELECT pg_notify(%s, %s)", (CHECK_CHANNEL, report_id))
