"""The SQLite report store: kept across restarts, found by content key, safe under threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from app.explain import explain_spec
from app.schemas import CheckReport
from app.store import SqliteReportStore
from app.web.examples import SPEC_EXAMPLE


def report():
    return explain_spec(SPEC_EXAMPLE).report


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


def test_prune_deletes_old_reports_then_the_oldest_over_the_size(tmp_path, monkeypatch):
    store = SqliteReportStore(tmp_path / "r.sqlite3")
    clock = [1_000_000.0]
    monkeypatch.setattr("app.store.time.time", lambda: clock[0])
    reports = []
    for _ in range(5):
        reports.append(report())
        store.add(reports[-1])
        clock[0] += 100
    assert store.prune(max_age_s=450, max_bytes=1 << 30) == 1  # the one added at t=0
    assert store.get(reports[0].id) is None
    newest_two = store.size_of(reports[4].id) + store.size_of(reports[3].id)
    assert store.prune(max_age_s=1e9, max_bytes=newest_two) == 2
    assert [store.get(r.id) is not None for r in reports] == [False, False, False, True, True]


def test_store_keeps_a_drawing_by_version_and_deletes_it_with_its_report(tmp_path, monkeypatch):
    store = SqliteReportStore(tmp_path / "r.sqlite3")
    clock = [1_000_000.0]
    monkeypatch.setattr("app.store.time.time", lambda: clock[0])
    old, new = report(), report()
    store.add(old)
    clock[0] += 100
    store.add(new)
    store.set_drawing(old.id, "1", b"old drawing")
    store.set_drawing(new.id, "1", b"first")
    store.set_drawing(new.id, "2", b"second")  # a newer drawing replaces the kept one
    assert store.get_drawing(new.id, "2") == b"second"
    assert store.get_drawing(new.id, "1") is None  # another version's is not this one's
    assert store.prune(max_age_s=50, max_bytes=1 << 30) == 1
    assert store.get_drawing(old.id, "1") is None
    assert store.get_drawing(new.id, "2") == b"second"
