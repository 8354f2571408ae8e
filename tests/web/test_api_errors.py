"""Bad input gets a 4xx with a stable code and a sentence; nothing is left behind; the
service keeps serving."""

from __future__ import annotations

import json

import pytest

from tests.support.api import make_client
from tests.support.files import saved
from tests.support.models import small_model

TEXT_FILE = b"name,value\nalpha,1\n"


def post_file_bytes(client, data, name="upload.bin", **params):
    return client.post("/api/v1/reports", files={"file": (name, data)}, params=params)


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert body["message"].endswith(".")
    assert "Traceback" not in response.text
    return body


def leftovers(client):
    work = client.app.state.work_dir
    return sorted(p.name for p in work.iterdir())


def test_post_text_file_is_unsupported_format(client):
    body = assert_error(post_file_bytes(client, TEXT_FILE, "notes.h5"), 415, "unsupported-format")
    assert ".keras archive" in body["message"] and "to_json()" in body["message"]


def test_post_empty_file_is_unsupported_format(client):
    body = assert_error(post_file_bytes(client, b""), 415, "unsupported-format")
    assert "empty" in body["message"]


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_post_truncated_model_is_malformed_without_library_text(client, tmp_path, suffix):
    data = saved(small_model(), tmp_path / f"m{suffix}").read_bytes()
    body = assert_error(post_file_bytes(client, data[: len(data) // 2]), 400, "malformed-model")
    for library_words in ("Unable to", "errno", "h5py", "zipfile", "BadZipFile"):
        assert library_words not in body["message"]


def test_post_spec_with_unknown_classes_lists_them_all_at_once(client):
    spec = json.loads(small_model().to_json())
    spec["config"]["layers"][1]["class_name"] = "QDense"
    spec["config"]["layers"][3]["class_name"] = "MyCustomLayer"
    response = client.post("/api/v1/reports", json={"spec": spec})
    body = assert_error(response, 422, "unknown-layers")
    assert body["details"]["classes"] == ["MyCustomLayer", "QDense"]


def test_post_spec_that_is_not_a_model_is_invalid_spec(client):
    response = client.post("/api/v1/reports", json={"spec": {"class_name": "Dense"}})
    assert_error(response, 400, "invalid-spec")


def test_post_body_that_is_not_json_is_invalid_request(client):
    response = client.post(
        "/api/v1/reports", content=b"{spec:", headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "invalid-request")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {}},
        {"data": {"check": "true"}, "files": {"inputs": ("x.npy", b"\x93NUMPY")}},
        {"content": b"x", "headers": {"content-type": "text/plain"}},
    ],
    ids=["json-without-spec", "form-without-file", "other-content-type"],
)
def test_post_without_a_model_is_invalid_request(client, kwargs):
    assert_error(client.post("/api/v1/reports", **kwargs), 400, "invalid-request")


def test_post_file_and_spec_together_is_invalid_request(client, tmp_path):
    path = saved(small_model(), tmp_path / "m.keras")
    response = client.post(
        "/api/v1/reports",
        files={"file": ("m.keras", path.read_bytes())},
        data={"spec": small_model().to_json()},
    )
    body = assert_error(response, 400, "invalid-request")
    assert "not both" in body["message"]


def test_openapi_says_exactly_one_of_file_and_spec(client):
    body = client.get("/openapi.json").json()["paths"]["/api/v1/reports"]["post"]["requestBody"]
    multipart = body["content"]["multipart/form-data"]["schema"]
    assert multipart["oneOf"] == [{"required": ["file"]}, {"required": ["spec"]}]


def test_post_unknown_field_names_it(client):
    response = client.post("/api/v1/reports", json={"spec": "{}", "chek": False})
    body = assert_error(response, 400, "invalid-request")
    assert "chek" in body["message"]


def test_post_bad_check_value_is_invalid_request(client):
    response = client.post(
        "/api/v1/reports", json={"spec": small_model().to_json()}, params={"check": "maybe"}
    )
    body = assert_error(response, 400, "invalid-request")
    assert "`check`" in body["message"]


def test_post_over_the_cap_is_file_too_large_and_leaves_nothing(tmp_path):
    with make_client(tmp_path, max_upload_bytes=1000, max_field_bytes=100) as client:
        response = post_file_bytes(client, b"\x89HDF\r\n\x1a\n" + b"\0" * 5000)
        body = assert_error(response, 413, "file-too-large")
        assert body["details"]["max_bytes"] == 1000
        assert leftovers(client) == []


def test_post_chunked_body_over_the_cap_is_file_too_large(tmp_path):
    def body():
        for _ in range(100):
            yield b"\0" * 1000

    with make_client(tmp_path, max_upload_bytes=4000, max_field_bytes=100) as client:
        response = client.post(
            "/api/v1/reports",
            content=body(),
            headers={"content-type": "application/octet-stream"},
        )
        assert_error(response, 413, "file-too-large")
        assert leftovers(client) == []


def test_post_multipart_without_closing_boundary_is_invalid_request(client):
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="m.h5"\r\n\r\n'
        b"\x89HDF\r\n\x1a\n partial"
    )
    response = client.post(
        "/api/v1/reports",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=XyZ"},
    )
    assert_error(response, 400, "invalid-request")
    assert leftovers(client) == []


def test_get_unknown_report_is_report_not_found(client):
    assert_error(client.get("/api/v1/reports/nope"), 404, "report-not-found")


def test_get_unknown_batchnorm_layer_is_layer_not_found(client):
    report_id = client.post("/api/v1/reports", json={"spec": small_model().to_json()}).json()["id"]
    response = client.get(
        f"/reports/{report_id}/batchnorm/dense", headers={"accept": "application/json"}
    )
    assert_error(response, 404, "layer-not-found")


def test_unknown_url_and_method_answer_with_codes(client):
    assert_error(client.get("/api/v1/nothing"), 404, "not-found")
    assert_error(client.delete("/api/v1/health"), 405, "method-not-allowed")


def test_method_not_allowed_says_which_methods_are(client):
    response = client.delete("/api/v1/health")
    assert response.headers["allow"] == "GET"  # RFC 9110: a 405 names the allowed methods


def test_error_page_shows_code_and_sentence_to_a_browser(client):
    response = client.post(
        "/api/v1/reports",
        files={"file": ("notes.txt", TEXT_FILE)},
        headers={"accept": "text/html"},
    )
    assert response.status_code == 415
    assert response.headers["content-type"].startswith("text/html")
    assert "unsupported-format" in response.text
    assert "Accepted: a .keras archive" in response.text
    assert "Traceback" not in response.text


def test_service_keeps_serving_and_stores_nothing_after_bad_uploads(client, tmp_path):
    for data in (TEXT_FILE, b"", b"PK\x03\x04broken", b"\x89HDF\r\n\x1a\nbroken"):
        assert post_file_bytes(client, data).status_code in (400, 415)
    assert leftovers(client) == []
    path = saved(small_model(), tmp_path / "m.keras")
    assert post_file_bytes(client, path.read_bytes()).status_code == 201
    assert leftovers(client) == []


def test_post_form_with_empty_spec_and_empty_file_input_takes_the_other(client, tmp_path):
    path = saved(small_model(), tmp_path / "m.keras")
    with_file = client.post(
        "/api/v1/reports", files={"file": ("m.keras", path.read_bytes())}, data={"spec": ""}
    )
    assert with_file.status_code == 201
    assert with_file.json()["source"]["format"] == "keras_v3"
    spec = small_model().to_json().encode()
    browser_form = (  # what a browser sends for an empty file input beside a filled textarea
        b'--B\r\nContent-Disposition: form-data; name="file"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\r\n"
        b'--B\r\nContent-Disposition: form-data; name="spec"\r\n\r\n' + spec + b"\r\n--B--\r\n"
    )
    with_spec = client.post(
        "/api/v1/reports",
        content=browser_form,
        headers={"content-type": "multipart/form-data; boundary=B"},
    )
    assert with_spec.status_code == 201
    assert with_spec.json()["source"]["format"] == "spec_json"


def test_post_json_body_with_duplicate_keys_is_refused(client):
    spec = small_model().to_json()
    body = b'{"spec": ' + spec.encode() + b', "spec": {}}'
    response = client.post(
        "/api/v1/reports", content=body, headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "duplicate-keys")


def _spec_on(batch_shape: list, layer: dict) -> dict:
    first = {"class_name": "InputLayer", "config": {"batch_shape": batch_shape, "name": "x"}}
    return {"class_name": "Sequential", "config": {"name": "s", "layers": [first, layer]}}


DENSE = {"class_name": "Dense", "config": {"name": "d", "units": 3}}
CONV1D = {"class_name": "Conv1D", "config": {"name": "d", "filters": 2, "kernel_size": 1}}


# Keras refuses both models: "The last dimension of the inputs to a Dense layer should be
# defined", "The channel dimension of the inputs should be defined".
@pytest.mark.parametrize(
    ("batch_shape", "layer", "weight"),
    [([None, None], DENSE, "kernel"), ([None, 4, None], CONV1D, None)],
)
def test_post_spec_whose_weight_has_an_unknown_size_is_invalid_spec(
    client, batch_shape, layer, weight
):
    # Found by bench/fuzz_specs.py: the weights' byte budget multiplied None (a 500).
    response = client.post("/api/v1/reports", json={"spec": _spec_on(batch_shape, layer)})
    body = assert_error(response, 400, "invalid-spec")
    assert body["details"]["layer"] == "d"
    if weight:
        assert body["details"]["weight"] == weight
        assert "kernel with shape (None, 3)" in body["message"]
    assert leftovers(client) == []
