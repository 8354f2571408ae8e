"""Two apps on one PostgreSQL store, as two replicas behind a load balancer: a report made
through one is served, as JSON and as a page, by the other, and the same upload again finds it."""

from __future__ import annotations

import json

import pytest

from app.store.migrate import migrate
from tests.support.api import make_client
from tests.support.models import seed_model


@pytest.fixture
def store_url(postgres_cluster):
    with postgres_cluster.database() as url:
        migrate(url)
        yield url


def test_a_report_made_on_one_replica_is_served_by_the_other(store_url, tmp_path):
    spec = json.loads(seed_model().to_json())
    with (
        make_client(tmp_path / "a", store_url=store_url) as one,
        make_client(tmp_path / "b", store_url=store_url) as other,
    ):
        made = one.post("/api/v1/reports", json={"spec": spec})
        assert made.status_code == 201, made.text
        report_id = made.json()["id"]
        served = other.get(f"/api/v1/reports/{report_id}")
        assert served.status_code == 200
        assert served.json()["totals"]["params"] == 2_140_752  # DESIGN.md's seed, by hand
        page = other.get(f"/reports/{report_id}")
        assert page.status_code == 200 and "batch_normalization" in page.text
        again = other.post("/api/v1/reports", json={"spec": spec})
        assert again.json()["id"] == report_id


def test_a_comparison_made_on_one_replica_is_served_by_the_other(store_url, tmp_path):
    """Two specs that differ in one Dense layer's width, compared through one replica; the
    comparison (kept in PostgreSQL) and each side's report answer on the other."""
    narrow = json.loads(seed_model().to_json())
    wide = json.loads(seed_model().to_json())
    wide["config"]["layers"][-1]["config"]["units"] = 81
    files = {
        "a": ("a.json", json.dumps(narrow).encode()),
        "b": ("b.json", json.dumps(wide).encode()),
    }
    with (
        make_client(tmp_path / "a", store_url=store_url) as one,
        make_client(tmp_path / "b", store_url=store_url) as other,
    ):
        made = one.post("/api/v1/comparisons", files=files)
        assert made.status_code == 201, made.text
        served = other.get(f"/api/v1/comparisons/{made.json()['id']}")
        assert served.status_code == 200
        assert served.json()["verdict"] == "architecture-differs"
        for side in ("a", "b"):
            report_id = served.json()[side]["report_id"]
            assert other.get(f"/api/v1/reports/{report_id}").status_code == 200
