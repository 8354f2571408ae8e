"""The report store's contract, run on both backends: SQLite (the default) and PostgreSQL
(a throwaway cluster, tests/support/postgres.py). Kept across reopening, found by content key,
the check updated alone, safe under threads, pruned by age then size."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.explain import explain_spec
from app.schemas import CheckReport
from app.store import ReportStore, SqliteReportStore, open_store
from app.store.contract import report_json
from app.web.examples import SPEC_EXAMPLE

Opener = Callable[[], ReportStore]


def report():
    return explain_spec(SPEC_EXAMPLE).report


@pytest.fixture(params=["sqlite", "postgresql"])
def open_new(request, tmp_path) -> Iterator[Opener]:
    """Opens the same store (a new object each call) of this test's backend, empty at first."""
    opened: list[ReportStore] = []
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'reports.sqlite3'}"
        yield lambda: _kept(opened, open_store(url, tmp_path / "unused"))
    else:
        from app.store.migrate import migrate

        cluster = request.getfixturevalue("postgres_cluster")
        with cluster.database() as url:
            migrate(url)
            yield lambda: _kept(opened, open_store(url, tmp_path / "unused"))
            for store in opened:
                store.close()


def _kept(opened: list[ReportStore], store: ReportStore) -> ReportStore:
    opened.append(store)
    return store


def test_store_keeps_reports_across_reopening(open_new):
    original = report()
    open_new().add(original, "key-1")
    reopened = open_new()
    assert reopened.get(original.id) == original
    assert reopened.find("key-1") == original
    assert reopened.get("absent") is None and reopened.find("absent") is None


def test_find_gives_the_newest_report_of_a_content_key(open_new, monkeypatch):
    store = open_new()
    clock = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    older, newer = report(), report()
    store.add(older, "same-key")
    clock[0] += 1
    store.add(newer, "same-key")
    assert store.find("same-key").id == newer.id


def test_store_updates_the_check_only(open_new):
    store = open_new()
    original = report()
    store.add(original)
    check = CheckReport(status="passed", message="Every layer within tolerance.")
    store.set_check(original.id, check)
    assert store.get(original.id) == original.model_copy(update={"check": check})
    assert store.get_check(original.id) == check
    assert store.get_check("absent") is None


def test_store_concurrent_writes_lose_nothing(open_new):
    store = open_new()
    reports = [report() for _ in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda r: store.add(r, r.id), reports))
    assert all(store.get(r.id) == r for r in reports)


def test_prune_deletes_old_reports_then_the_oldest_over_the_size(open_new, monkeypatch):
    store = open_new()
    clock = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
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


def test_open_store_refuses_an_unknown_scheme(tmp_path):
    with pytest.raises(ValueError, match="sqlite:/// or postgresql://"):
        open_store("mysql://host/db", tmp_path / "r.sqlite3")
    assert isinstance(open_store(None, tmp_path / "r.sqlite3"), SqliteReportStore)


def test_store_keeps_a_drawing_by_version_and_deletes_it_with_its_report(open_new, monkeypatch):
    store = open_new()
    clock = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
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


def test_remove_deletes_one_report_and_its_drawing(open_new):
    store = open_new()
    kept, removed = report(), report()
    store.add(kept, "kept-key")
    store.add(removed, "removed-key")
    store.set_drawing(removed.id, "1", b"drawing")
    store.remove(removed.id)
    assert store.get(removed.id) is None and store.find("removed-key") is None
    assert store.get_drawing(removed.id, "1") is None
    assert store.get(kept.id) == kept
    store.remove("absent")  # nothing to delete is no error


def test_a_report_written_once_gives_the_body_and_the_answer_as_pydantic_writes_them():
    made = report()
    checked = made.model_copy(update={"check": CheckReport(status="passed", message="ok")})
    dumped = report_json(made)
    assert dumped.without_check() == made.model_dump_json(exclude={"check"}).encode()
    assert dumped.with_check(made.check) == made.model_dump_json().encode()
    assert dumped.with_check(checked.check) == checked.model_dump_json().encode()
    assert made.reference_code  # the field written after the check is there to splice
