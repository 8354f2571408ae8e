"""Comparisons kept by id, on both backends (SQLite beside one machine's reports, a team's
PostgreSQL on a throwaway cluster): found by id and content key, pruned by age and size."""

from __future__ import annotations

import time

import pytest

from app.compare.schemas import Comparison
from app.compare.store import SqliteComparisonStore
from app.web.comparison_example import COMPARISON_EXAMPLE


def comparison(comparison_id: str) -> Comparison:
    return Comparison.model_validate({**COMPARISON_EXAMPLE, "id": comparison_id})


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        yield SqliteComparisonStore(tmp_path / "reports.sqlite3")
        return
    from app.compare.postgres_store import PostgresComparisonStore
    from app.store.migrate import migrate
    from app.store.postgres import PostgresReportStore

    with request.getfixturevalue("postgres_cluster").database() as url:
        migrate(url)
        reports = PostgresReportStore(url)
        yield PostgresComparisonStore(reports.pool)
        reports.close()


def test_store_gets_by_id_and_finds_by_content_key(store):
    store.add(comparison("one"), "key-1")

    assert store.get("one") == comparison("one")
    assert store.find("key-1").id == "one"
    assert store.get("two") is None and store.find("key-2") is None


def test_store_prunes_the_old_then_the_oldest_over_the_size(store, monkeypatch):
    now = time.time()
    for offset, name in ((-100.0, "old"), (-2.0, "older"), (-1.0, "newest")):
        monkeypatch.setattr(time, "time", lambda offset=offset: now + offset)
        store.add(comparison(name))
    monkeypatch.setattr(time, "time", lambda: now)

    assert store.prune(max_age_s=50.0, max_bytes=1 << 30) == 1
    assert store.get("old") is None
    one_body = max(store.size_of("older"), store.size_of("newest"))
    assert store.prune(max_age_s=50.0, max_bytes=one_body) == 1
    assert store.get("older") is None and store.get("newest") is not None
