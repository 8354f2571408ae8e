"""`/forward` without Keras workers: what the OpenAPI document says of it, and the 409 that
says why a report has no program. No Keras runs here."""

from __future__ import annotations

import pytest

from app.retention import Retention
from tests.support.api import make_client, post
from tests.support.models import seed_spec

ROUTE = "/api/v1/reports/{report_id}/forward"


@pytest.fixture
def client(tmp_path):
    with make_client(tmp_path) as client:  # no workers: every check is `not_run`
        yield client


def test_openapi_documents_the_export_zip_and_its_409_codes(client):
    document = client.get("/openapi.json").json()
    operation = document["paths"][ROUTE]["get"]
    assert operation["summary"] == "Export the model as a NumPy program"
    assert "application/zip" in operation["responses"]["200"]["content"]
    assert {"404", "409"} <= set(operation["responses"])
    for code in ("export-refused", "export-unavailable", "export-needs-check", "export-not-ready"):
        assert f"`{code}`" in document["info"]["description"]
        assert f"`{code}`" in operation["responses"]["409"]["description"]


def test_export_of_a_spec_whose_check_did_not_run_is_409_with_the_reason(client):
    report = post(client, json={"spec": seed_spec()}).json()
    assert report["check"]["status"] == "not_run"
    response = client.get(f"/api/v1/reports/{report['id']}/forward")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "export-needs-check"
    assert body["details"]["check_status"] == "not_run"
    assert "check=true" in body["message"]


def test_export_409_renders_as_a_page_for_a_browser(client):
    report = post(client, json={"spec": seed_spec()}).json()
    page = client.get(f"/api/v1/reports/{report['id']}/forward", headers={"Accept": "text/html"})
    assert page.status_code == 409
    assert "export-needs-check" in page.text
    assert "/forward" not in client.get(f"/reports/{report['id']}").text  # no link to it


def test_retention_removes_the_program_of_a_deleted_report_only(client):
    report = post(client, json={"spec": seed_spec()}).json()
    exports = client.app.state.settings.exports_dir
    for name in (report["id"], "deleted-report"):
        (exports / name).mkdir(parents=True)
    store = client.app.state.reports.store
    Retention(store, retention_days=30, max_bytes=1 << 30, exports_dir=exports).prune_once()
    assert sorted(p.name for p in exports.iterdir()) == [report["id"]]
