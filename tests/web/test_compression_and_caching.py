"""Pages and JSON travel gzipped; static files carry an ETag and a `Cache-Control`."""

from __future__ import annotations

import gzip
import hashlib
import re

import pytest

from app.web.streaming import in_pieces
from app.web.templating import STATIC_DIR
from tests.support.api import make_client
from tests.support.models import small_model

GZIP = {"accept-encoding": "gzip"}
PLAIN = {"accept-encoding": "identity"}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(client, report id) of a small spec, no Keras workers."""
    with make_client(tmp_path_factory.mktemp("gzip")) as client:
        created = client.post("/api/v1/reports", json={"spec": small_model().to_json()})
        assert created.status_code == 201, created.text[:300]
        yield client, created.json()["id"]


def raw(client, path: str, headers: dict[str, str]):
    """The response with its body as sent: httpx would otherwise unzip it."""
    with client.stream("GET", path, headers=headers) as response:
        return response, b"".join(response.iter_raw())


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_report_is_gzipped_when_the_client_accepts_it(served, accept):
    client, report_id = served
    zipped, body = raw(client, f"/reports/{report_id}", {**GZIP, "accept": accept})
    plain, text = raw(client, f"/reports/{report_id}", {**PLAIN, "accept": accept})
    assert zipped.status_code == 200 and plain.status_code == 200
    assert zipped.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert gzip.decompress(body) == text
    assert len(body) * 3 < len(text)
    assert "accept-encoding" in zipped.headers["vary"].lower()


def test_api_json_is_gzipped(served):
    client, report_id = served
    response, body = raw(client, f"/api/v1/reports/{report_id}", GZIP)
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(body).startswith(b"{")


def test_static_file_has_an_etag_and_is_revalidated_without_a_version(served):
    client, _ = served
    first = client.get("/static/style.css")
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-cache"
    etag = first.headers["etag"]
    again = client.get("/static/style.css", headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "no-cache"
    stale = client.get("/static/style.css", headers={"if-none-match": '"not-this-one"'})
    assert stale.status_code == 200
    assert stale.content == first.content


def test_pages_link_static_files_by_version_and_those_are_kept_a_year(served):
    client, _ = served
    page = client.get("/").text
    digest = hashlib.sha256((STATIC_DIR / "style.css").read_bytes()).hexdigest()[:12]
    assert f'href="/static/style.css?v={digest}"' in page
    linked = re.search(r'src="(/static/upload\.js\?v=[0-9a-f]{12})"', page)
    assert linked is not None
    response = client.get(linked.group(1))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "etag" in response.headers


def test_a_missing_static_file_is_a_404_without_cache_control(served):
    client, _ = served
    response = client.get("/static/nothing-here.css")
    assert response.status_code == 404
    assert "cache-control" not in response.headers


def test_pieces_join_to_the_page_and_each_but_the_last_holds_at_least_the_size():
    texts = ["<p>" + "x" * n + "</p>" for n in range(0, 400, 7)]
    pieces = list(in_pieces(texts, size=1000))
    assert b"".join(pieces) == "".join(texts).encode()
    assert all(len(piece) >= 1000 for piece in pieces[:-1])
    assert len(pieces) > 3


def test_report_page_is_streamed(served):
    client, report_id = served
    response, body = raw(client, f"/reports/{report_id}", {**GZIP, "accept": "text/html"})
    assert response.status_code == 200
    assert "content-length" not in response.headers  # sent as it is rendered
    assert gzip.decompress(body).decode().rstrip().endswith("</html>")
