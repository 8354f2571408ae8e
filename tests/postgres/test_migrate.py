"""Migrations: numbered files applied once each, in order, under an advisory lock, each in its
own transaction; `keras-explainer migrate` runs them; a store opened before them says so."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from app.cli import main
from app.store.migrate import MIGRATIONS_DIR, migrate, migrations
from app.store.postgres import PostgresReportStore, SchemaMissing

# Our files in order, then procrastinate's own schema (the job queue's tables).
OURS = [
    (1, "0001_reports"),
    (2, "0002_check_attempts"),
    (3, "0003_drawings"),
    (4, "0004_comparisons"),
]
ALL = [name for _, name in OURS] + ["procrastinate"]


@pytest.fixture
def database(postgres_cluster):
    with postgres_cluster.database() as url:
        yield url


def applied(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as db:
        return db.execute("SELECT version, name FROM schema_migrations ORDER BY 1").fetchall()


def test_the_shipped_migrations_are_numbered_from_one_without_gaps():
    versions = [migration.version for migration in migrations()]
    assert versions == list(range(1, len(versions) + 1))
    assert migrations()[0].name == "0001_reports"


def test_migrate_applies_each_file_once(database):
    assert migrate(database) == ALL
    assert migrate(database) == []
    assert applied(database) == OURS


def test_concurrent_migrations_wait_for_each_other(database):
    """Replicas starting together: the lock lets one apply, the others find it done."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: migrate(database), range(4)))
    assert sorted(results) == [[], [], [], ALL]
    assert applied(database) == OURS


def test_a_failing_migration_leaves_no_trace(database, tmp_path):
    (tmp_path / "0001_reports.sql").write_text((MIGRATIONS_DIR / "0001_reports.sql").read_text())
    (tmp_path / "0002_broken.sql").write_text(
        "CREATE TABLE half_made (id INTEGER); SELECT no_such_function();"
    )
    with pytest.raises(psycopg.errors.UndefinedFunction):
        migrate(database, tmp_path)
    assert applied(database) == [(1, "0001_reports")]
    with psycopg.connect(database) as db:
        assert db.execute("SELECT to_regclass('half_made')").fetchone() == (None,)
        assert db.execute("SELECT to_regclass('procrastinate_jobs')").fetchone() == (None,)


def test_migration_files_must_be_numbered(tmp_path):
    (tmp_path / "reports.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match="NNNN_name.sql"):
        migrations(tmp_path)
    (tmp_path / "reports.sql").unlink()
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0001_b.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match="version 1 is also 0001_a.sql"):
        migrations(tmp_path)


def test_a_store_on_an_unmigrated_database_names_the_command(database):
    with pytest.raises(SchemaMissing, match="keras-explainer migrate"):
        PostgresReportStore(database)


def test_the_migrate_command(database, capsys, monkeypatch):
    assert main(["migrate", "--url", database]) == 0
    assert capsys.readouterr().out == f"applied: {', '.join(ALL)}\n"
    monkeypatch.setenv("KEX_STORE_URL", database)
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out == "the store is up to date\n"


def test_the_migrate_command_needs_a_postgresql_url(capsys, monkeypatch):
    monkeypatch.delenv("KEX_STORE_URL", raising=False)
    assert main(["migrate"]) == 2
    assert "needs a PostgreSQL store" in capsys.readouterr().err
    assert main(["migrate", "--url", "sqlite:///x.sqlite3"]) == 2


def test_a_worker_refuses_to_run_checks_without_network_isolation(database, tmp_path, capsys):
    """It holds the database's password: where the sandbox gets no network namespace of its
    own, the model's code could use it. The command says so and exits 3."""
    from unittest import mock

    environment = {
        "KEX_STORE_URL": database,
        "KEX_SHARED_DIR": str(tmp_path / "shared"),
        "KEX_DATA_DIR": str(tmp_path / "data"),
    }
    migrate(database)
    with (
        mock.patch.dict("os.environ", environment),
        mock.patch("app.queue.supervisor.network_isolation", return_value=False),
        mock.patch("app.main.make_pool") as make_pool,
    ):
        assert main(["worker"]) == 3
    assert "will not run checks" in capsys.readouterr().err
    make_pool.return_value.start.assert_not_called()  # no Keras process was started


def test_a_worker_needs_a_postgresql_store_and_a_shared_folder(capsys, monkeypatch):
    monkeypatch.delenv("KEX_STORE_URL", raising=False)
    monkeypatch.delenv("KEX_SHARED_DIR", raising=False)
    assert main(["worker"]) == 2
    assert "KEX_SHARED_DIR" in capsys.readouterr().err
