"""Reports kept by id: one small interface, SQLite behind it by default.

A report is written once, whole (the breakdown and BatchNormalization parts never change);
its check is a separate column that the check updates as it progresses; its drawing (the
graph on its page, app.drawing) is kept in a table beside it once first drawn. `prune` keeps
the store within an age and a size (the size counted as the compressed bodies). A report may
carry a content key (the file's sha256 plus the options that shape the report) so that the
same upload can be answered from the store.

SQLite (`sqlite.py`) is the default, with nothing to install. Replicas on several hosts share a
PostgreSQL store instead (`postgres.py`, its tables made by `migrate.py`), chosen by
`open_store`'s URL; psycopg is imported only then. Both keep the form of `contract.py`.
"""

from __future__ import annotations

from pathlib import Path

from app.store.contract import ReportStore
from app.store.sqlite import SqliteReportStore

__all__ = ["ReportStore", "SqliteReportStore", "open_store"]


def open_store(url: str | None, default_path: Path) -> ReportStore:
    """The store `url` names: `postgresql://…` (or `postgres://…`), `sqlite:///path`, or
    None for SQLite at `default_path`. psycopg is imported only for PostgreSQL."""
    if url and url.startswith(("postgresql://", "postgres://")):
        from app.store.postgres import PostgresReportStore

        return PostgresReportStore(url)
    if url and not url.startswith("sqlite:///"):
        raise ValueError("KEX_STORE_URL must start with sqlite:/// or postgresql://")
    return SqliteReportStore(Path(url.removeprefix("sqlite:///")) if url else default_path)
