"""The `Host` header is the client's to write: pages never build links from it, and
`KEX_TRUSTED_HOSTS` refuses hosts the deployment does not serve."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from app.config import Settings
from tests.support.api import make_client
from tests.support.models import small_model

EVIL = {"host": "evil.example"}


def test_pages_link_by_path_whatever_the_host_header_says(client):
    index = client.get("/", headers=EVIL)
    report_id = client.post("/api/v1/reports", json={"spec": small_model().to_json()}).json()["id"]
    report = client.get(f"/reports/{report_id}", headers={**EVIL, "accept": "text/html"})
    for page in (index, report):
        assert page.status_code == 200
        assert "evil.example" not in page.text
        links = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert any(link.startswith("/static/style.css?v=") for link in links)
        assert not [link for link in links if "://" in link and "/static/" in link]


def test_trusted_hosts_refuse_any_other_host(tmp_path):
    with make_client(tmp_path, trusted_hosts="kex.example.com, *.kex.example.com") as client:
        assert client.get("/api/v1/health", headers=EVIL).status_code == 400
        assert client.get("/api/v1/health", headers={"host": "kex.example.com"}).status_code == 200
        served = client.get("/api/v1/health", headers={"host": "eu.kex.example.com"})
        assert served.status_code == 200


def test_every_host_is_answered_by_default(client):
    assert client.get("/api/v1/health", headers=EVIL).status_code == 200


@pytest.mark.parametrize("pattern", ["kex.*.com", "*kex.example.com"])
def test_a_wildcard_anywhere_but_the_front_is_a_settings_error(tmp_path, pattern):
    with pytest.raises(ValidationError, match="wildcard"):
        Settings(data_dir=tmp_path, trusted_hosts=pattern)
