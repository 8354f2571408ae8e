"""Shared fixtures. Corpus files are read in place from ../shared/corpus; helpers and models
the tests share live in tests/support/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.api import WarmPool

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        if os.environ.get("CI"):  # CI checks out ../shared: a missing corpus is a broken run
            pytest.fail("../shared/corpus is not beside the project")
        pytest.skip("../shared/corpus is not beside the project")
    return CORPUS


@pytest.fixture(scope="session")
def warm_pool() -> Iterator[WarmPool]:
    """Keras workers kept warm across modules: `with warm_pool.lent() as pool:`."""
    pool = WarmPool()
    yield pool
    pool.stop()


@pytest.fixture(scope="session")
def postgres_cluster():
    """One throwaway PostgreSQL server for the run (tests/support/postgres.py)."""
    from tests.support.postgres import running_cluster

    with running_cluster() as cluster:
        yield cluster
