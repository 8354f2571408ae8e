"""Error pages: the code, the sentence, what to do next; never a traceback."""

from __future__ import annotations

from app.schemas import ErrorBody
from app.web.errors import NEXT_STEPS, next_step
from tests.support.api import make_client
from tests.support.pages import HTML, readable


def error_text(response, status: int) -> str:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert "Traceback" not in response.text
    return readable(response.text)


def test_text_file_upload_shows_the_unsupported_format_page(client):
    response = client.post(
        "/api/v1/reports",
        files={"file": ("notes.txt", b"These are my notes, not a model.\n")},
        headers=HTML,
    )
    text = error_text(response, 415)
    assert "Error 415 This file is not a Keras model the explainer can read." in text
    assert "Code unsupported-format — tools match on this" in text
    assert (
        "What to do next Upload a .keras archive, a legacy HDF5 file (.h5), or paste the JSON "
        "that model.to_json() returns."
    ) in text
    assert "Explain another model" in text


def test_missing_report_shows_the_not_found_page(client):
    text = error_text(client.get("/reports/0123456789abcdef", headers=HTML), 404)
    assert "Code report-not-found" in text
    assert "What to do next Upload the model again to make a new report." in text


def test_unknown_address_shows_a_generic_next_step(client):
    text = error_text(client.get("/no/such/page", headers=HTML), 404)
    assert "Error 404 There is nothing at this address. Code not-found" in text
    assert "What to do next Go back and try again" in text


def test_upload_over_the_limit_shows_the_size_page(tmp_path):
    with make_client(tmp_path, max_upload_bytes=1 << 20) as client:
        response = client.post(
            "/api/v1/reports", files={"file": ("big.h5", b"\0" * ((1 << 20) + 1))}, headers=HTML
        )
    text = error_text(response, 413)
    assert "The upload is larger than the 1 MiB this service accepts." in text
    assert "Code file-too-large" in text
    assert "ask the operator to raise KEX_MAX_UPLOAD_BYTES" in text


def test_inputs_of_the_wrong_shape_get_the_shapes_as_the_next_step():
    body = ErrorBody(
        code="invalid-request",
        message="The input for 'x' has shape (2, 5); the model expects (None, 4096).",
        details={"input": "x", "shape": [2, 5], "expected": [None, 4096]},
    )
    assert next_step(body) == (
        "Send inputs of shape (any size, 4096) for x; the file held (2, 5). The first axis is "
        "the batch: numpy.save('inputs.npy', x) with x of that shape, or leave the inputs empty "
        "for seeded random ones."
    )


def test_the_wrong_number_of_inputs_gets_the_count_as_the_next_step():
    body = ErrorBody(code="invalid-request", message="…", details={"expected": 2, "given": 1})
    assert next_step(body) == (
        "Send one array per model input: 2 of them (an .npz with one array per Input), not 1; "
        "or leave the inputs empty."
    )


def test_other_errors_keep_their_code_s_next_step():
    body = ErrorBody(code="file-too-large", message="…", details={"limit": 10})
    assert next_step(body) == NEXT_STEPS["file-too-large"]
