"""Numbered SQL files applied once each, in order, under an advisory lock.

`migrations/NNNN_name.sql` files are the schema's history; the table `schema_migrations`
records which have run. Every replica may call `migrate` at start-up, and the one-shot
`keras-explainer migrate` does in deployments: the advisory lock makes concurrent callers
wait for each other, so each file runs exactly once, each in its own transaction.

The job queue's tables (app.queue: procrastinate's) are procrastinate's own schema, applied
after ours under the same lock when the database lacks them, and recorded as `procrastinate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any fixed number, the same in every process: pg_advisory_lock's key for "migrating".
LOCK_KEY = 0x6B6578_6D6967  # "kex" "mig"
JOB_QUEUE = "procrastinate"
FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    path: Path

    @property
    def name(self) -> str:
        return self.path.stem


def migrations(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The folder's migrations in version order; a misnamed or duplicated file is an error."""
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = FILE_NAME.match(path.name)
        if match is None:
            raise ValueError(f"{path.name}: migration files are named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise ValueError(f"{path.name}: version {version} is also {found[version].path.name}")
        found[version] = Migration(version, path)
    return [found[version] for version in sorted(found)]


def migrate(url: str, folder: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the migrations `url`'s database lacks; returns the names applied."""
    applied: list[str] = []
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
            for migration in migrations(folder):
                if migration.version not in done:
                    _apply(db, migration)
                    applied.append(migration.name)
            if _job_queue_schema(db):
                applied.append(JOB_QUEUE)
        finally:
            db.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return applied


def _job_queue_schema(db: psycopg.Connection) -> bool:
    """procrastinate's tables, functions and triggers, once: True when applied now."""
    if db.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0] is not None:
        return False
    from procrastinate.schema import SchemaManager

    with db.transaction():
        db.execute(SchemaManager.get_schema())
    return True


def _apply(db: psycopg.Connection, migration: Migration) -> None:
    """One file and its record in one transaction: a failed file leaves no trace."""
    with db.transaction():
        db.execute(migration.path.read_text())
        db.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
            (migration.version, migration.name),
        )
