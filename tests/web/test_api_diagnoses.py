"""POST /api/v1/reports/{id}/diagnoses and POST /api/v1/reports with `yours`: status first,
then the exact fields. The numbers are DESIGN.md's seed, worked out by hand:

    Input((2,)) → BatchNormalization(axis=1), fresh, x = [[0, 1], [2, 3]]
    Keras (moving statistics):  x / √(1 + 0.001) = 0.9995004 · x
    batch statistics:           mean [1, 2], variance [1, 1] → [[−1, −1], [1, 1]] (ε left out)
"""

from __future__ import annotations

import io
import json
import sqlite3

import numpy as np
import pytest

from tests.support.api import make_client
from tests.support.files import saved
from tests.support.models import SEED_INPUT, dense_bn_dense, randomize_weights, seed_spec

KERAS = SEED_INPUT / np.sqrt(np.float32(1.001))
BATCH_STATISTICS = [[-1.0, -1.0], [1.0, 1.0]]
SPEC = seed_spec()  # once: each model Keras builds takes a new name, so a new sha256
# The BatchNormalization's name: batch_normalization, or _1, _2 after other tests built one.
BN = json.loads(SPEC)["config"]["layers"][-1]["config"]["name"]


@pytest.fixture
def kept(tmp_path):
    """An app that keeps uploads, so a report can be diagnosed without sending it again."""
    with make_client(tmp_path, keep_uploads=True) as client:
        yield client


def seed_report(client) -> dict:
    response = client.post("/api/v1/reports", json={"spec": SPEC, "check": False})
    assert response.status_code == 201
    return response.json()


def diagnose(client, report_id, **fields):
    return client.post(f"/api/v1/reports/{report_id}/diagnoses", json=fields)


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_diagnose_seed_names_batch_statistics_first(client):
    report = seed_report(client)
    response = diagnose(
        client,
        report["id"],
        spec=SPEC,
        inputs=SEED_INPUT.tolist(),
        yours={BN: BATCH_STATISTICS},
    )
    assert response.status_code == 200
    diagnosis = response.json()
    assert diagnosis["verdict"] == "explained"
    assert diagnosis["first_divergence"] == BN
    top = diagnosis["mistakes"][0]
    assert top["code"] == "batchnorm-batch-statistics"
    assert top["layer"] == BN
    assert top["evidence"]["error_to_mistake"] <= 1e-6
    assert top["evidence"]["error_to_keras"] == pytest.approx(
        1 + 1 / np.sqrt(1.001), rel=1e-6
    )  # -1 vs 0.9995
    assert "moving_mean and moving_variance" in top["explanation"]
    assert "0.9995004" in top["explanation"] and "√(1 + 0.001)" in top["explanation"]
    assert diagnosis["tensors"][0]["against"] == "reference"


def test_diagnose_keras_numbers_match_keras(client):
    report = seed_report(client)
    response = diagnose(
        client,
        report["id"],
        spec=SPEC,
        inputs=SEED_INPUT.tolist(),
        yours={BN: KERAS.tolist()},
    )
    assert response.status_code == 200
    diagnosis = response.json()
    assert diagnosis["verdict"] == "matches-keras"
    assert diagnosis["mistakes"] == []
    assert diagnosis["tensors"][0]["matches"] is True
    assert 0 < diagnosis["tensors"][0]["expected_float32_error"] < 1e-5
    assert "Not a mistake" in diagnosis["message"]


def test_diagnose_npy_of_a_kept_h5_upload_runs_outside_the_server(kept, tmp_path):
    """A kept HDF5 upload is read by the diagnosis process, never by the server."""
    path = saved(randomize_weights(dense_bn_dense()), tmp_path / "model.h5")
    with path.open("rb") as fh:
        created = kept.post(
            "/api/v1/reports", files={"file": ("model.h5", fh)}, data={"check": "false"}
        )
    assert created.status_code == 201
    report = created.json()
    last = report["model"]["outputs"][0]["name"]
    x = np.zeros((2, 4), np.float32)
    response = kept.post(
        f"/api/v1/reports/{report['id']}/diagnoses",
        files={"yours": ("mine.npy", _npy(np.full((2, 2), 7.0))), "inputs": ("x.npy", _npy(x))},
    )
    assert response.status_code == 200
    diagnosis = response.json()
    assert diagnosis["tensors"][0]["name"] == last
    assert diagnosis["verdict"] in ("explained", "unexplained")
    assert diagnosis["first_divergence"] == last


def test_post_report_with_yours_answers_the_diagnosis(client):
    yours = npz_bytes(**{BN: np.array(BATCH_STATISTICS)})
    response = client.post(
        "/api/v1/reports",
        data={"spec": SPEC, "check": "false", "inputs": json.dumps(SEED_INPUT.tolist())},
        files={"yours": ("mine.npz", yours)},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["diagnosis"]["mistakes"][0]["code"] == "batchnorm-batch-statistics"
    assert body["totals"]["params"] == 8


@pytest.mark.parametrize(
    ("yours", "code", "layer"),
    [
        ({"dense_9": [[1.0, 2.0], [3.0, 4.0]]}, "yours-unknown-layer", "dense_9"),
        ({BN: [[1.0, 2.0, 3.0]]}, "yours-wrong-shape", BN),
        (
            {BN: [["a", "b"], ["c", "d"]]},
            "yours-wrong-dtype",
            BN,
        ),
        ({BN: 3}, "yours-wrong-dtype", BN),
    ],
)
def test_diagnose_bad_numbers_is_400_naming_field_and_layer(client, yours, code, layer):
    report = seed_report(client)
    response = diagnose(client, report["id"], spec=SPEC, inputs=SEED_INPUT.tolist(), yours=yours)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    assert body["details"]["field"] == "yours"
    assert body["details"]["layer"] == layer


def test_diagnose_infinite_numbers_is_400_not_finite(client):
    report = seed_report(client)
    yours = npz_bytes(**{BN: np.array([[np.inf, 0.0], [np.nan, 1.0]])})
    response = client.post(
        f"/api/v1/reports/{report['id']}/diagnoses",
        data={"spec": SPEC, "inputs": json.dumps(SEED_INPUT.tolist())},
        files={"yours": ("mine.npz", yours)},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "yours-not-finite"
    assert body["details"] == {"field": "yours", "layer": BN, "not_finite": 2}


def test_diagnose_without_the_model_is_400_model_not_kept(client):
    report = seed_report(client)
    response = diagnose(client, report["id"], yours={BN: BATCH_STATISTICS})
    assert response.status_code == 400
    assert response.json()["code"] == "model-not-kept"


def test_diagnose_without_yours_is_400(client):
    report = seed_report(client)
    response = diagnose(client, report["id"], spec=SPEC)
    assert response.status_code == 400
    assert response.json()["details"] == {"field": "yours"}


def test_diagnose_unknown_report_is_404(client):
    response = diagnose(client, "0" * 32, yours={"dense": [[1.0]]})
    assert response.status_code == 404
    assert response.json()["code"] == "report-not-found"


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_after_the_check_seeded_inputs_download_and_keras_own_values_are_used(warm_pool, tmp_path):
    with warm_pool.client(tmp_path) as client:
        created = client.post("/api/v1/reports", json={"spec": SPEC}, params={"wait": "true"})
        assert created.status_code == 201
        report = created.json()
        assert report["check"]["status"] == "passed"
        page = client.get(f"/reports/{report['id']}")
        assert f'href="/api/v1/reports/{report["id"]}/inputs.npz"' in page.text
        download = client.get(f"/api/v1/reports/{report['id']}/inputs.npz")
        assert download.status_code == 200
        x = np.load(io.BytesIO(download.content))["x0"]
        keras_output = np.asarray(report["check"]["outputs"][0]["keras"], np.float32)
        # The downloaded inputs are the check's: Keras gave x / √1.001 for them.
        np.testing.assert_allclose(keras_output, x / np.sqrt(1.001), rtol=1e-6, atol=1e-7)

        same = diagnose(client, report["id"], spec=SPEC, yours={BN: keras_output.tolist()})
        assert same.status_code == 200
        assert same.json()["verdict"] == "matches-keras"
        assert same.json()["tensors"][0]["against"] == "keras"

        batch = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-3)
        wrong = diagnose(client, report["id"], spec=SPEC, yours={BN: batch.tolist()})
        assert wrong.status_code == 200
        assert wrong.json()["mistakes"][0]["code"] == "batchnorm-batch-statistics"
        assert wrong.json()["mistakes"][0]["form"] == "with the layer's epsilon"


def test_inputs_download_without_a_seeded_check_is_400(client):
    report = seed_report(client)
    response = client.get(f"/api/v1/reports/{report['id']}/inputs.npz")
    assert response.status_code == 400
    assert response.json()["details"] == {"field": "inputs"}


def post_json(client, url, text: str):
    """A JSON body as written (NaN and Infinity are not JSON, but Python's json writes them)."""
    return client.post(url, content=text, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_diagnose_non_finite_json_names_field_and_layer(client, number):
    report = seed_report(client)
    body = (
        f'{{"spec": {json.dumps(SPEC)}, "inputs": [[0, 1], [2, 3]], '
        f'"yours": {{"{BN}": [[{number}, 0.0], [1.0, 1.0]]}}}}'
    )
    response = post_json(client, f"/api/v1/reports/{report['id']}/diagnoses", body)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "yours-not-finite"
    assert body["details"] == {"field": "yours", "layer": BN, "not_finite": 1}
    assert BN in body["message"]


def test_diagnose_non_finite_multipart_json_field_names_the_layer(client):
    report = seed_report(client)
    response = client.post(
        f"/api/v1/reports/{report['id']}/diagnoses",
        files={  # text fields of a multipart form (no filename)
            "spec": (None, SPEC),
            "inputs": (None, json.dumps(SEED_INPUT.tolist())),
            "yours": (None, f'{{"{BN}": [[NaN, Infinity], [1, 1]]}}'),
        },
    )
    assert response.status_code == 400
    assert response.json()["code"] == "yours-not-finite"
    assert response.json()["details"] == {"field": "yours", "layer": BN, "not_finite": 2}


def test_non_finite_number_outside_yours_is_still_invalid_number(client):
    report = seed_report(client)
    body = (
        f'{{"spec": {json.dumps(SPEC)}, "inputs": [[NaN, 1], [2, 3]], '
        f'"yours": {{"{BN}": [[NaN, 0.0], [1.0, 1.0]]}}}}'
    )
    response = post_json(client, f"/api/v1/reports/{report['id']}/diagnoses", body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid-number"


def stored_reports(client) -> int:
    path = client.app.state.settings.store_path
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM reports").fetchone()[0]


@pytest.mark.parametrize(
    ("yours", "code"),
    [
        (f'{{"{BN}": [[1.0, 2.0], [3.0, 4.0]], "dense_9": [[1.0]]}}', "yours-unknown-layer"),
        (f'{{"{BN}": [[NaN, 2.0], [3.0, 4.0]]}}', "yours-not-finite"),
        (f'{{"{BN}": [["a", "b"], ["c", "d"]]}}', "yours-wrong-dtype"),
        # The shape is known only once the model has run (the report is stored by then).
        (f'{{"{BN}": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]}}', "yours-wrong-shape"),
    ],
)
def test_post_report_with_refused_yours_stores_nothing(client, yours, code):
    before = stored_reports(client)
    body = (
        f'{{"spec": {json.dumps(SPEC)}, "check": false, "inputs": [[0, 1], [2, 3]], '
        f'"yours": {yours}}}'
    )
    response = post_json(client, "/api/v1/reports", body)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["details"]["layer"] in (BN, "dense_9")
    assert stored_reports(client) == before
    # The same spec without `yours` is a new report, not one the refused request left behind.
    again = client.post("/api/v1/reports", json={"spec": SPEC, "check": False})
    assert again.status_code == 201
    assert stored_reports(client) == before + 1


def test_post_file_with_wrong_shape_yours_keeps_no_upload(kept, tmp_path):
    path = saved(randomize_weights(dense_bn_dense()), tmp_path / "model.h5")
    yours = _npy(np.zeros((2, 5), np.float32))  # the model's output is (2, 2)
    before = stored_reports(kept)
    with path.open("rb") as fh:
        response = kept.post(
            "/api/v1/reports",
            files={"file": ("model.h5", fh), "yours": ("mine.npy", yours)},
            data={"check": "false", "inputs": json.dumps(np.zeros((2, 4)).tolist())},
        )
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "yours-wrong-shape"
    assert stored_reports(kept) == before
    uploads = kept.app.state.settings.uploads_dir
    assert not uploads.exists() or list(uploads.iterdir()) == []
