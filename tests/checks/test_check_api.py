"""The manual-vs-predict check through the API, with real Keras worker processes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.support.api import finished, npy_upload, post, post_file
from tests.support.files import as_keras2_file
from tests.support.kerasref import keras
from tests.support.models import (
    KERAS2_FUNCTIONAL,
    KERAS2_SEQUENTIAL,
    SEED_INPUT,
    randomize_weights,
    seed_spec,
)

layers = keras.layers
EPSILON = 0.001
# Fresh BN (moving_mean 0, moving_variance 1, gamma 1, beta 0) at inference: x / √(1 + ε).
SEED_INFERENCE = SEED_INPUT.astype(np.float64) / np.sqrt(1 + EPSILON)
# Training mode: each column's batch mean (1, 2) and variance 1 replace the moving ones:
# (x − mean) / √(1 + ε) = ±1 / √1.001.
SEED_TRAINING = np.array([[-1, -1], [1, 1]]) / np.sqrt(1 + EPSILON)
# What a check says of its seeded inputs (README, app/analysis/inputs.py).
SEEDED_DISTRIBUTION = "Normal(0, 1) for float inputs; uniform integer ids for Embedding inputs"


@pytest.fixture(scope="module")
def client(tmp_path_factory, warm_pool):
    with warm_pool.client(tmp_path_factory.mktemp("checks")) as client:
        yield client


def conv_bn_model():
    return randomize_weights(
        keras.Sequential(
            [
                keras.Input((12, 12, 3)),
                layers.Conv2D(8, 3, padding="same"),
                layers.BatchNormalization(),
                layers.ReLU(max_value=6.0),
                layers.MaxPooling2D(),
                layers.DepthwiseConv2D(3, padding="same"),
                layers.BatchNormalization(),
                layers.Dropout(0.3),
                layers.GlobalAveragePooling2D(),
                layers.Dense(4, activation="softmax"),
            ]
        )
    )


def test_check_seed_question_inference_gives_x_over_sqrt_1001(client):
    response = post(client, json={"spec": seed_spec(), "inputs": SEED_INPUT.tolist()})
    assert response.status_code == 201
    check = response.json()["check"]
    assert check["status"] == "passed", check
    [output] = check["outputs"]
    np.testing.assert_allclose(output["keras"], SEED_INFERENCE, rtol=1e-6)
    np.testing.assert_allclose(output["reference"], SEED_INFERENCE, rtol=1e-6)
    assert check["inputs"]["source"] == "caller"
    assert check["mode"] == "inference"


def test_check_seed_question_training_uses_batch_statistics(client):
    body = {"spec": seed_spec(), "inputs": SEED_INPUT.tolist(), "mode": "training"}
    check = post(client, json=body).json()["check"]
    assert check["status"] == "passed", check
    [output] = check["outputs"]
    np.testing.assert_allclose(output["keras"], SEED_TRAINING, atol=1e-6)
    np.testing.assert_allclose(output["reference"], SEED_TRAINING, atol=1e-6)
    assert check["mode"] == "training"


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_check_file_passes_layer_by_layer_on_seeded_inputs(client, tmp_path, suffix):
    model = conv_bn_model()
    path = tmp_path / f"conv{suffix}"
    model.save(path)
    check = post_file(client, path).json()["check"]
    assert check["status"] == "passed", check
    assert [x["name"] for x in check["layers"]] == [layer.name for layer in model.layers]
    assert all(x["verdict"] == "passed" for x in check["layers"])
    assert max(x["max_rel_error"] for x in check["layers"]) <= check["tolerance"] == 1e-4
    assert check["first_divergence"] is None
    assert check["inputs"] == {
        "source": "seeded",
        "seed": 0,
        "distribution": SEEDED_DISTRIBUTION,
        "batch_size": 2,
        "shapes": [[2, 12, 12, 3]],
        "notes": [],
    }
    [output] = check["outputs"]
    assert output["shape"] == [2, 4]
    # The documented rule, followed: seed 0, Normal(0, 1), one draw of the batch's shape.
    seeded = np.random.default_rng(0).standard_normal((2, 12, 12, 3)).astype("float32")
    expected = model.predict(seeded, verbose=0)
    np.testing.assert_allclose(output["keras"], expected, rtol=1e-5, atol=1e-6)
    assert check["keras_version"] == keras.__version__
    assert check["timing"]["reference_s"] > 0 and check["timing"]["keras_predict_s"] > 0


def test_check_file_outputs_equal_keras_predict_in_this_process(client, tmp_path):
    model = conv_bn_model()
    path = tmp_path / "conv.keras"
    model.save(path)
    x = np.random.default_rng(5).normal(size=(3, 12, 12, 3)).astype("float32")
    check = post_file(client, path, files={"inputs": npy_upload(x)}).json()["check"]
    assert check["status"] == "passed", check
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(check["outputs"][0]["keras"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(check["outputs"][0]["reference"], expected, rtol=1e-4, atol=1e-6)
    assert check["inputs"]["shapes"] == [[3, 12, 12, 3]]


def test_check_two_input_model_takes_npz_inputs_by_name(client, tmp_path):
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    merged = layers.Concatenate()([layers.Dense(4)(a), b])
    model = randomize_weights(keras.Model([a, b], layers.Dense(2)(merged)))
    path = tmp_path / "two.keras"
    model.save(path)
    rng = np.random.default_rng(1)
    xa, xb = rng.normal(size=(4, 3)).astype("f4"), rng.normal(size=(4, 2)).astype("f4")
    buffer = io.BytesIO()
    np.savez(buffer, b=xb, a=xa)
    check = post_file(client, path, files={"inputs": ("x.npz", buffer.getvalue())}).json()["check"]
    assert check["status"] == "passed", check
    expected = model.predict([xa, xb], verbose=0)
    np.testing.assert_allclose(check["outputs"][0]["keras"], expected, rtol=1e-5, atol=1e-6)


def test_check_embedding_gru_gets_integer_ids_with_padding(client, tmp_path):
    model = randomize_weights(
        keras.Sequential(
            [keras.Input((None,)), layers.Embedding(20, 4, mask_zero=True), layers.GRU(3)]
        )
    )
    path = tmp_path / "gru.keras"
    model.save(path)
    check = post_file(client, path).json()["check"]
    assert check["status"] == "passed", check
    assert check["inputs"]["shapes"] == [[2, 8]]
    assert any("integer ids in [0, 20)" in note for note in check["inputs"]["notes"])


def test_check_embedding_average_of_the_kept_steps_passes(client, tmp_path):
    """The text classifier of the tutorials: Embedding(mask_zero=True), then the mean over
    the steps that are not padding (the seeded ids end in padding on the second sample)."""
    model = randomize_weights(
        keras.Sequential(
            [
                keras.Input((None,)),
                layers.Embedding(20, 4, mask_zero=True),
                layers.GlobalAveragePooling1D(),
                layers.Dense(2),
            ]
        )
    )
    path = tmp_path / "bag.keras"
    model.save(path)
    check = post_file(client, path).json()["check"]
    assert check["status"] == "passed", check
    assert [layer["verdict"] for layer in check["layers"]] == ["passed"] * 3


def test_check_masked_self_attention_classifier_passes(client, tmp_path):
    """A small transformer classifier: padding ids masked by the Embedding, self-attention
    over the kept positions, the mean of the kept steps."""
    ids = keras.Input((None,), dtype="int32")
    x = layers.Embedding(30, 8, mask_zero=True)(ids)
    x = layers.MultiHeadAttention(num_heads=2, key_dim=4)(x, x)
    x = layers.GlobalAveragePooling1D()(x)
    model = randomize_weights(keras.Model(ids, layers.Dense(3)(x)))
    path = tmp_path / "attention.keras"
    model.save(path)
    check = post_file(client, path).json()["check"]
    assert check["status"] == "passed", check
    assert {layer["verdict"] for layer in check["layers"]} == {"passed"}


def test_check_without_wait_is_queued_then_finishes(client, tmp_path):
    path = tmp_path / "conv.keras"
    conv_bn_model().save(path)
    response = client.post("/api/v1/reports", files={"file": (path.name, path.read_bytes())})
    assert response.status_code == 201
    report = response.json()
    assert report["check"]["status"] in ("queued", "running")
    assert report["totals"]["params"] > 0
    assert finished(client, report["id"])["status"] == "passed"


def test_check_inputs_of_the_wrong_shape_are_refused_before_anything(client):
    response = post(client, json={"spec": seed_spec(), "inputs": [[0, 1, 2]]})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid-request"
    assert "(1, 3)" in body["message"] and "(None, 2)" in body["message"]


def test_check_inputs_file_declaring_2_to_the_40_floats_is_a_400_and_the_server_serves_on(
    client, tmp_path
):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (1 << 40,)}
    )
    path = tmp_path / "conv.keras"
    conv_bn_model().save(path)
    response = post_file(client, path, files={"inputs": ("x.npy", header.getvalue())})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid-request"
    assert "1,099,511,627,776 values" in response.json()["message"]
    assert client.get("/api/v1/health").status_code == 200


def test_check_keras2_file_with_default_groups_runs_without_the_key(client, tmp_path):
    model = randomize_weights(
        keras.Sequential(
            [keras.Input((8, 8, 2)), layers.DepthwiseConv2D(3), layers.BatchNormalization()]
        )
    )

    def add_groups(layer):
        if layer["class_name"] == "DepthwiseConv2D":
            layer["config"]["groups"] = 1

    path = as_keras2_file(model, tmp_path / "k2.h5", add_groups)
    check = post_file(client, path).json()["check"]
    assert check["status"] == "passed", check
    assert any("groups=1" in note for note in check["notes"])


def test_check_keras2_file_with_other_groups_is_unsupported_with_reason(client, tmp_path):
    model = keras.Sequential([keras.Input((8, 8, 2)), layers.DepthwiseConv2D(3)])

    def add_groups(layer):
        if layer["class_name"] == "DepthwiseConv2D":
            layer["config"]["groups"] = 2

    path = as_keras2_file(model, tmp_path / "k2.h5", add_groups)
    check = post_file(client, path).json()["check"]
    assert check["status"] == "unsupported", check
    assert check["code"] == "keras3-refuses-config"
    assert "groups=2" in check["message"]


@pytest.mark.parametrize(
    ("name", "params", "code", "classes"),
    [
        ("carnd_lambda_model.h5", 252_219, "lambda-layer", {"Lambda"}),
        ("hls4ml_qkeras-v3_3layer.keras", 4_389, "unknown-layer", {"QDense", "QActivation"}),
    ],
)
def test_check_is_refused_for_code_bearing_or_unknown_classes(
    client, corpus, name, params, code, classes
):
    response = post_file(client, corpus / name)
    assert response.status_code == 201
    report = response.json()
    assert report["totals"]["params"] == params
    check = report["check"]
    assert (check["status"], check["code"]) == ("refused", code)
    assert {r["class_name"] for r in check["details"]["refusals"]} >= classes


def test_check_is_not_run_when_not_asked(client):
    report = post(client, json={"spec": seed_spec()}, params={"check": "false"}).json()
    assert report["check"]["status"] == "not_run"
    assert report["check"]["message"] == "Not asked for (check=false)."


def test_health_reports_warm_workers_and_their_keras(client):
    body = client.get("/api/v1/health").json()
    assert body["checks"] == "enabled"
    assert body["workers"]["keras_version"] == keras.__version__
    assert body["workers"]["isolations"]["network_namespace"] is True


def test_check_shows_each_batchnorm_layer_in_both_modes(client):
    check = post(client, json={"spec": seed_spec(), "inputs": SEED_INPUT.tolist()}).json()["check"]
    [bn] = check["batchnorm"]
    assert (bn["axis"], bn["channels"], bn["keras_mode"]) == (1, [0, 1], "inference")
    assert bn["inputs"] == [0.0, 1.0]
    np.testing.assert_allclose(bn["inference"], SEED_INFERENCE[0], rtol=1e-6)
    np.testing.assert_allclose(bn["training"], SEED_TRAINING[0], atol=1e-6)
    np.testing.assert_allclose(bn["keras"], SEED_INFERENCE[0], rtol=1e-6)


def test_get_check_alone_matches_the_report_check(client):
    report = post(client, json={"spec": seed_spec(), "inputs": SEED_INPUT.tolist()}).json()
    response = client.get(f"/api/v1/reports/{report['id']}/check")
    assert response.status_code == 200
    assert response.json() == report["check"]
    assert client.get("/api/v1/reports/absent/check").json()["code"] == "report-not-found"


def ten_billion_spec() -> dict:
    """Input(100,000) → Dense(100,000): 100,000 × 100,000 + 100,000 = 10,000,100,000."""
    return {
        "class_name": "Sequential",
        "config": {
            "name": "huge",
            "layers": [
                {
                    "class_name": "InputLayer",
                    "config": {"name": "in", "batch_shape": [None, 100_000]},
                },
                {"class_name": "Dense", "config": {"name": "dense", "units": 100_000}},
            ],
        },
    }


def test_check_over_the_parameter_budget_is_422_with_the_figures(client):
    response = client.post("/api/v1/reports", json={"spec": ten_billion_spec()})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "parameter-budget-exceeded"
    assert body["details"]["figures"]["params"] == 10_000_100_000
    assert body["details"]["limits"]["max_params"] == 400_000_000
    assert "check=false" in body["message"]


def test_breakdown_of_a_ten_billion_parameter_spec_without_the_check(client):
    response = client.post(
        "/api/v1/reports", json={"spec": ten_billion_spec()}, params={"check": "false"}
    )
    assert response.status_code == 201
    totals = response.json()["totals"]
    assert (totals["params"], totals["bytes"]) == (10_000_100_000, 4 * 10_000_100_000)


@pytest.mark.slow
def test_check_teachable_machine_is_unsupported_but_our_outputs_match_keras2(client, corpus):
    """Keras 3 refuses this Keras 2.4 file: `groups: 1` on its DepthwiseConv2D layers (the
    check removes that key), then its nested Sequential cannot be rebuilt. The check says so
    in words, and our reference still gives what tf_keras gave on the stored input."""
    name = "teachable_machine_waste_keras_model"
    x = corpus / f"{name}.tf_keras.input.npy"
    expected = np.load(corpus / f"{name}.tf_keras.output.npy")
    with (corpus / f"{name}.h5").open("rb") as model, x.open("rb") as inputs:
        files = {"file": (f"{name}.h5", model), "inputs": ("x.npy", inputs)}
        response = client.post("/api/v1/reports", files=files, params={"wait": "true"})
    check = response.json()["check"]
    assert (check["status"], check["code"]) == ("unsupported", "keras-load-failed"), check
    assert "cannot rebuild this model" in check["message"]
    assert check["details"]["reason"]["kind"] == "rebuild-failed"
    assert any("groups=1" in note for note in check["notes"])
    [output] = check["outputs"]
    assert output["keras"] is None
    np.testing.assert_allclose(output["reference"], expected, atol=1e-5)


def test_check_runs_with_a_relative_data_folder(tmp_path, monkeypatch, warm_pool):
    """Workers run in folders of their own: the data folder must not stay relative."""
    monkeypatch.chdir(tmp_path)
    # The shared pool's workers started elsewhere; it does not matter: each runs in a private
    # folder of its own (never the server's working folder), so a relative path breaks there.
    body = {"spec": seed_spec(), "inputs": SEED_INPUT.tolist()}
    with warm_pool.lent() as pool:
        with TestClient(create_app(Settings(data_dir=Path("data"), workers=1), pool)) as relative:
            check = post(relative, json=body).json()["check"]
    assert check["status"] == "passed", check
    assert relative.app.state.settings.data_dir == tmp_path / "data"


@pytest.mark.parametrize(
    "spec", [KERAS2_SEQUENTIAL, KERAS2_FUNCTIONAL], ids=["KERAS2_SEQUENTIAL", "KERAS2_FUNCTIONAL"]
)
def test_check_runs_a_keras2_spec_without_module_keys(client, spec):
    check = post(client, json={"spec": spec}).json()["check"]
    assert check["status"] == "passed", check
