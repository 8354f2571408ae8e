"""The upload page: what it says before anyone tries, and its forms without JavaScript."""

from __future__ import annotations

import re

from tests.support.api import make_client
from tests.support.files import saved
from tests.support.models import small_model
from tests.support.pages import HTML, fresh, page, readable

BOUNDARY = "----BrowserFormBoundary7MA4YWxkTrZu0gW"


def browser_form(*parts: tuple[str, bytes, str | None]) -> tuple[bytes, dict[str, str]]:
    """A multipart body as a browser sends a form: an empty file input is a part with
    filename="" and no bytes."""
    body = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"\r\nContent-Type: application/octet-stream'
        body += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        body += value + b"\r\n"
    body += f"--{BOUNDARY}--\r\n".encode()
    headers = {**HTML, "content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    return body, headers


def test_upload_page_states_formats_and_limit_before_the_form(client):
    html = page(client, "/")
    limit = html.index('Files up to <strong id="max-upload">1,024 MiB</strong>')
    assert limit < html.index("<form")
    text = readable(html)
    assert (
        'What you can send .keras archive, as model.save("model.keras") writes it '
        ".h5 / .hdf5 legacy HDF5, from Keras 2 or 3 model.to_json() — the architecture only"
    ) in text
    assert "a pasted spec or an inputs JSON up to 16 MiB" in text


def test_upload_page_shows_the_configured_limit(tmp_path):
    with make_client(tmp_path, max_upload_bytes=64 << 20) as client:
        assert "Files up to 64 MiB" in readable(page(client, "/"))


def test_upload_page_labels_every_control(client):
    html = page(client, "/")
    controls = re.findall(r'<(?:input|select|textarea)[^>]* id="([^"]+)"', html)
    labelled = set(re.findall(r'<label[^>]* for="([^"]+)"', html))
    assert len(controls) == 11  # file, weights; spec; per form: check on, off, mode, inputs
    assert set(controls) <= labelled


def test_upload_page_says_when_the_service_cannot_run_the_check(client):
    text = readable(page(client, "/"))
    assert "This service runs no Keras workers, so the check will be reported as not run." in text


def test_upload_form_posts_without_javascript_and_lands_on_the_report(client, tmp_path):
    model = saved(fresh(small_model), tmp_path / "small.keras").read_bytes()
    body, headers = browser_form(
        ("file", model, "small.keras"),
        ("check", b"false", None),
        ("mode", b"inference", None),
        ("inputs", b"", ""),
    )
    response = client.post("/api/v1/reports", content=body, headers=headers, follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/reports/[0-9a-f]{32}", location)
    text = readable(page(client, location))
    assert "small.keras .keras archive" in text
    assert "Not run Not asked for (check=false)." in text


def test_spec_form_posts_without_javascript(client):
    spec = fresh(small_model).to_json().encode()
    body, headers = browser_form(
        ("spec", spec, None),
        ("check", b"true", None),
        ("mode", b"training", None),
        ("inputs", b"", ""),
    )
    response = client.post("/api/v1/reports", content=body, headers=headers)
    assert response.status_code == 200  # after the redirect
    text = readable(response.text)
    assert "sequential Sequential to_json() spec written by Keras (version not recorded)" in text
    # Dense(5) on 6 inputs, BatchNormalization on 5, Dense(3) on 5: 35 + 20 + 18 = 73.
    assert re.search(r'id="total-params">73<', response.text)
