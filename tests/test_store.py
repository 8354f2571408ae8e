"""The SQLite report store: kept across restarts, found by content key, safe under threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from app.schemas import CheckReport
from app.service import explain_spec
from app.store import SqliteReportStore
from app.web.examples import SPEC_EXAMPLE


def report():
    return explain_spec(SPEC_EXAMPLE)


def test_store_keeps_reports_across_reopening(tmp_path):
    path = tmp_path / "reports.sqlite3"
    original = report()
    SqliteReportStore(path).add(original, "key-1")
    reopened = SqliteReportStore(path)
    assert reopened.get(original.id) == original
    assert reopened.find("key-1") == original
    assert reopened.get("absent") is None and reopened.find("absent") is None


def test_store_updates_the_check_only(tmp_path):
    store = SqliteReportStore(tmp_path / "r.sqlite3")
    original = report()
    store.add(original)
    check = CheckReport(status="passed", message="Every layer within tolerance.")
    store.set_check(original.id, check)
    assert store.get(original.id) == original.model_copy(update={"check": check})


def test_store_concurrent_writes_lose_nothing(tmp_path):
    store = SqliteReportStore(tmp_path / "r.sqlite3")
    reports = [report() for _ in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda r: store.add(r, r.id), reports))
    assert all(store.get(r.id) == r for r in reports)
