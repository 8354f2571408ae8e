"""POST and GET /api/v1/reports: status first, then the exact fields."""

from __future__ import annotations

import hashlib
import json
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from tests.support.api import make_client
from tests.support.files import saved
from tests.support.kerasref import keras
from tests.support.models import seed_model, small_model

# DESIGN.md's seed model, worked out by hand:
#   Dense(512) on 4096 inputs: 4096 × 512 + 512 = 2,097,664
#   BatchNormalization(512):   4 × 512           =     2,048 (1,024 non-trainable)
#   Dense(80) on 512:          512 × 80 + 80     =    41,040
SEED_TOTALS = {"params": 2_140_752, "trainable": 2_139_728, "non_trainable": 1_024}


def post_spec(client, spec, **params):
    return client.post("/api/v1/reports", json={"spec": spec}, params=params)


def post_file(client, path, name=None, **params):
    with path.open("rb") as fh:
        files = {"file": (name or path.name, fh, "application/octet-stream")}
        return client.post("/api/v1/reports", files=files, params=params)


def layer(report, name):
    return next(entry for entry in report["layers"] if entry["name"] == name)


def test_post_spec_object_gives_the_seed_totals_exactly(client):
    response = post_spec(client, json.loads(seed_model().to_json()))
    assert response.status_code == 201
    report = response.json()
    assert response.headers["location"] == f"/api/v1/reports/{report['id']}"
    assert {k: report["totals"][k] for k in SEED_TOTALS} == SEED_TOTALS
    assert report["totals"]["bytes"] == 4 * SEED_TOTALS["params"]
    assert report["source"]["format"] == "spec_json"


def test_post_spec_string_explains_batchnorm_at_indices_2_to_5(client):
    response = post_spec(client, seed_model().to_json())
    assert response.status_code == 201
    report = response.json()
    bn_layer = next(x for x in report["layers"] if x["class_name"] == "BatchNormalization")
    assert (bn_layer["params"], bn_layer["non_trainable_params"]) == (2_048, 1_024)
    assert bn_layer["formula"] == "4 × 512 = 2,048"
    [bn] = report["batchnorm"]
    assert [(w["role"], w["index"], w["trainable"]) for w in bn["weights"]] == [
        ("gamma", 2, True),
        ("beta", 3, True),
        ("moving_mean", 4, False),
        ("moving_variance", 5, False),
    ]
    assert bn["set_weights_order"] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert (bn["epsilon"], bn["momentum"], bn["channels"]) == (0.001, 0.99, 512)
    assert bn["values_from"] == "initializers"


def test_post_spec_formula_of_dense_reads_as_written_by_hand(client):
    report = post_spec(client, seed_model().to_json()).json()
    dense = next(x for x in report["layers"] if x["class_name"] == "Dense")
    assert dense["formula"] == "4096 × 512 + 512 = 2,097,664"
    assert [(w["role"], w["shape"], w["index"]) for w in dense["weights"]] == [
        ("kernel", [4096, 512], 0),
        ("bias", [512], 1),
    ]


def test_post_spec_without_center_has_no_beta_and_shifts_indices(client):
    report = post_spec(client, seed_model(center=False).to_json()).json()
    [bn] = report["batchnorm"]
    assert [(w["role"], w["index"]) for w in bn["weights"]] == [
        ("gamma", 2),
        ("moving_mean", 3),
        ("moving_variance", 4),
    ]
    last = report["layers"][-1]
    assert [w["index"] for w in last["weights"]] == [5, 6]
    assert report["totals"]["params"] == SEED_TOTALS["params"] - 512


@pytest.mark.parametrize(("suffix", "fmt"), [(".keras", "keras_v3"), (".h5", "legacy_h5")])
def test_post_file_matches_keras_totals_and_order(client, tmp_path, suffix, fmt):
    model = small_model()
    path = saved(model, tmp_path / f"small{suffix}")
    response = post_file(client, path)
    assert response.status_code == 201
    report = response.json()
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert report["totals"]["params"] == model.count_params()
    assert report["totals"]["trainable"] == trainable
    shapes = [w["shape"] for x in report["layers"] for w in x["weights"]]
    assert shapes == [list(a.shape) for a in model.get_weights()]
    source = report["source"]
    assert (source["format"], source["filename"]) == (fmt, path.name)
    assert source["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert source["size"] == path.stat().st_size


def test_post_file_gives_weight_stats_from_the_stored_values(client, tmp_path):
    model = small_model()
    response = post_file(client, saved(model, tmp_path / "small.keras"))
    kernel = model.layers[0].kernel.numpy()
    stats = layer(response.json(), model.layers[0].name)["weights"][0]["stats"]
    assert stats["min"] == pytest.approx(float(kernel.min()))
    assert stats["max"] == pytest.approx(float(kernel.max()))
    assert stats["mean"] == pytest.approx(float(kernel.mean()), rel=1e-6)
    assert stats["std"] == pytest.approx(float(kernel.std()), rel=1e-5)


@pytest.mark.parametrize("name", ["model", "weights.model", "model.hdf5", "model.keras"])
def test_post_file_reads_the_format_from_the_bytes_not_the_name(client, tmp_path, name):
    path = saved(small_model(), tmp_path / "small.h5")
    renamed = tmp_path / name
    shutil.copyfile(path, renamed)
    response = post_file(client, renamed)
    assert response.status_code == 201
    assert response.json()["source"]["format"] == "legacy_h5"


def test_post_octet_stream_body_is_the_model_file(client, tmp_path):
    path = saved(small_model(), tmp_path / "small.keras")
    response = client.post(
        "/api/v1/reports",
        content=path.read_bytes(),
        headers={"content-type": "application/octet-stream"},
        params={"filename": "mine.keras"},
    )
    assert response.status_code == 201
    source = response.json()["source"]
    assert source["filename"] == "mine.keras"
    assert source["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert source["size"] == path.stat().st_size


@pytest.mark.parametrize("transport", ["multipart", "octet-stream"])
def test_a_file_of_several_mib_arrives_whole_with_its_sha256(client, tmp_path, transport):
    """The body reaches the disk in pieces of about a MiB, hashed on the way: a 4 MiB
    model crosses several pieces, and its digest and totals must still be the file's."""
    model = keras.Sequential([keras.Input((1024,)), keras.layers.Dense(1024)])
    path = saved(model, tmp_path / "wide.keras")
    assert path.stat().st_size > 4 << 20
    if transport == "multipart":
        response = post_file(client, path)
    else:
        response = client.post(
            "/api/v1/reports",
            content=path.read_bytes(),
            headers={"content-type": "application/octet-stream"},
        )
    assert response.status_code == 201
    report = response.json()
    assert report["source"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert report["source"]["size"] == path.stat().st_size
    assert report["totals"]["params"] == 1024 * 1024 + 1024


def test_get_report_returns_the_same_report(client):
    created = post_spec(client, seed_model().to_json())
    response = client.get(created.headers["location"])
    assert response.status_code == 200
    assert response.json() == created.json()


@pytest.mark.parametrize("check", ["true", "false"])
def test_the_answer_is_byte_for_byte_what_a_later_get_answers(client, tmp_path, check):
    """The answer is written from the JSON the store was given, the check put back in its
    place (app.store.contract.ReportJson): the same bytes as the report read back."""
    path = saved(small_model(), tmp_path / "small.keras")
    created = post_file(client, path, check=check, recompute="true")
    assert created.status_code == 201
    again = client.get(created.headers["location"])
    assert again.status_code == 200
    assert created.content == again.content


def test_get_report_negotiates_html_and_json_on_both_urls(client):
    report_id = post_spec(client, seed_model().to_json()).json()["id"]
    api_page = client.get(f"/api/v1/reports/{report_id}", headers={"accept": "text/html"})
    assert api_page.status_code == 200
    assert api_page.headers["content-type"].startswith("text/html")
    assert "2,140,752" in api_page.text
    page_json = client.get(f"/reports/{report_id}", headers={"accept": "application/json"})
    assert page_json.status_code == 200
    assert page_json.json()["id"] == report_id
    browser = client.get(f"/reports/{report_id}", headers={"accept": "text/html,*/*;q=0.8"})
    assert browser.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("check", [None, "true", "false"])
def test_post_accepts_check_and_reports_not_run(client, check):
    params = {} if check is None else {"check": check}
    response = post_spec(client, small_model().to_json(), **params)
    assert response.status_code == 201
    assert response.json()["check"]["status"] == "not_run"


def test_post_same_bytes_twice_returns_the_stored_report(client, tmp_path):
    path = saved(small_model(), tmp_path / "small.keras")
    first = post_file(client, path)
    again = post_file(client, path)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == first.headers["location"]
    fresh = post_file(client, path, recompute="true")
    assert fresh.status_code == 201
    assert fresh.json()["id"] != first.json()["id"]


def test_post_from_a_browser_form_redirects_to_the_page(client, tmp_path):
    path = saved(small_model(), tmp_path / "small.keras")
    with path.open("rb") as fh:
        response = client.post(
            "/api/v1/reports",
            files={"file": (path.name, fh)},
            data={"check": "false"},
            headers={"accept": "text/html"},
            follow_redirects=False,
        )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/reports/")
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert "Total params" in page.text


def test_health_answers_with_version_and_layer_classes(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["layer_classes"] > 100


def test_many_parallel_uploads_are_all_kept_and_readable(client, tmp_path):
    paths = []
    for i in range(12):
        paths.append(saved(small_model(), tmp_path / f"m{i}.keras"))

    def upload(path):
        return post_file(client, path, recompute="true")

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(upload, paths))
    assert [r.status_code for r in responses] == [201] * len(paths)
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == len(paths)
    for report_id in ids:
        assert client.get(f"/api/v1/reports/{report_id}").status_code == 200


def test_reports_survive_a_restart_of_the_app(tmp_path):
    with make_client(tmp_path) as first:
        created = first.post("/api/v1/reports", json={"spec": small_model().to_json()}).json()
    with make_client(tmp_path) as second:
        again = second.get(f"/api/v1/reports/{created['id']}")
    assert again.status_code == 200
    assert again.json() == created


def test_uploads_are_kept_only_when_asked(tmp_path):
    path = saved(small_model(), tmp_path / "m.keras")
    for keep in (False, True):
        with make_client(tmp_path / str(keep), keep_uploads=keep) as client:
            report = post_file(client, path).json()
            kept = client.app.state.settings.uploads_dir / report["id"]
            assert kept.is_file() is keep
            if keep:
                assert kept.read_bytes() == path.read_bytes()


def test_openapi_document_lists_every_code_and_documents_every_route(client):
    document = client.get("/openapi.json").json()
    description = document["info"]["description"]
    for code in ("unsupported-format", "busy", "parameter-budget-exceeded", "worker-crashed"):
        assert f"`{code}`" in description
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            assert operation.get("summary"), (method, path)
            assert "200" in operation["responses"] or "201" in operation["responses"]
