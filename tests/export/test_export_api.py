"""`GET /api/v1/reports/{id}/forward`: the model as a standalone NumPy program, run in a
fresh interpreter where NumPy is the only package it can import, against Keras' own outputs."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.api import post, post_file
from tests.support.exported import (
    foreign_imports,
    largest_relative_difference,
    printed_numbers,
    run_program,
    unzip,
)
from tests.support.kerasref import keras
from tests.support.models import BUILDERS, SEED_INPUT, build, seed_model, seed_spec

# The seed question (DESIGN.md): a fresh BatchNormalization(axis=1) on [[0, 1], [2, 3]].
SEED_OUTPUT = [0.0, 0.9995004, 1.9990008, 2.9985013]


@pytest.fixture(scope="module")
def client(tmp_path_factory, warm_pool):
    with warm_pool.client(tmp_path_factory.mktemp("export")) as client:
        yield client


def exported(client, report: dict, tmp_path):
    response = client.get(f"/api/v1/reports/{report['id']}/forward")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    return unzip(response.content, tmp_path)


def test_export_seed_question_prints_x_over_sqrt_1001(client, tmp_path):
    report = post(client, json={"spec": seed_spec(), "inputs": SEED_INPUT.tolist()}).json()
    assert report["check"]["status"] == "passed"
    folder = exported(client, report, tmp_path)
    ran = run_program(folder, tmp_path)
    assert ran.returncode == 0, ran.stderr
    np.testing.assert_allclose(printed_numbers(ran.stdout), SEED_OUTPUT, atol=1e-7)
    assert largest_relative_difference(ran.stdout) <= report["check"]["tolerance"]
    readme = (folder / "README.txt").read_text()
    assert "spec without weights" in readme and "seeded" in readme
    assert foreign_imports(folder / "model_forward.py") == set()


@pytest.fixture(scope="module")
def design_report(client) -> dict:
    """DESIGN.md's model as a spec without weights: the check's seeded weights."""
    return post(client, json={"spec": seed_model().to_json()}).json()


def test_export_holds_the_files_and_weights_by_layer_and_role(client, design_report, tmp_path):
    report = design_report
    folder = exported(client, report, tmp_path)
    names = {p.name for p in folder.iterdir()}
    assert names == {"model_forward.py", "weights.npz", "inputs.npy", "expected.npz", "README.txt"}
    dense, bn, _, dense_1 = [layer["name"] for layer in report["layers"]]
    with np.load(folder / "weights.npz") as npz:
        keys = set(npz.files)
        assert npz[f"{bn}/moving_variance"].shape == (512,)
        # 4096·512 + 512 + 4·512 + 512·80 + 80: DESIGN.md's 2,140,752
        assert sum(npz[k].size for k in npz.files) == 2_140_752
    roles = ("gamma", "beta", "moving_mean", "moving_variance")
    assert keys == {f"{dense}/kernel", f"{dense}/bias", f"{dense_1}/kernel", f"{dense_1}/bias"} | {
        f"{bn}/{role}" for role in roles
    }
    ran = run_program(folder, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert largest_relative_difference(ran.stdout) <= report["check"]["tolerance"]


def test_export_forward_is_one_line_per_layer_named_after_it(client, design_report, tmp_path):
    report = design_report
    text = (exported(client, report, tmp_path) / "model_forward.py").read_text()
    body = text.split("def forward(inputs, weights):")[1].split("\n\n\n")[0]
    calls = [line.strip() for line in body.strip().splitlines()[2:-1]]  # no docstring, Input
    layers = [layer["name"] for layer in report["layers"]]
    assert [c.split(" = ")[0].rstrip("_") for c in calls] == layers
    classes = ["dense", "batch_normalization", "identity_at_inference", "dense"]
    for call, layer, function in zip(calls, layers, classes, strict=True):
        assert call.split(" = ")[1].startswith(
            f"{function}(CONFIG[{layer!r}], layer_weights(weights, {layer!r})"
        )


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_export_of_each_shared_model_reproduces_keras(client, tmp_path, name):
    path = tmp_path / f"{name}.keras"
    build(name).save(path)
    report = post_file(client, path).json()
    assert report["check"]["status"] == "passed", report["check"]
    folder = exported(client, report, tmp_path)
    ran = run_program(folder, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert largest_relative_difference(ran.stdout) <= report["check"]["tolerance"]


def test_export_of_the_wild_spec_without_weights_runs_the_checks_seeded_weights(
    client, corpus, tmp_path
):
    """The corpus's one spec Keras loads with no weights beside it carries compile settings,
    which the copy Keras is given leaves out: the check passes on seeded weights, and the
    program, exported with those weights, gives Keras' outputs of the check."""
    report = post_file(client, corpus / "wild/keras3/maryamkargar_facialemotionmodel.json").json()
    assert report["check"]["status"] == "passed", report["check"]
    folder = exported(client, report, tmp_path)
    with np.load(folder / "weights.npz") as npz:
        assert sum(npz[k].size for k in npz.files) == report["totals"]["params"] == 2_915_591
    ran = run_program(folder, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert largest_relative_difference(ran.stdout) <= report["check"]["tolerance"]


def test_export_of_the_program_on_other_inputs_equals_keras_predict(client, tmp_path):
    model = build("conv_bn")
    path = tmp_path / "conv_bn.keras"
    model.save(path)
    folder = exported(client, post_file(client, path).json(), tmp_path)
    x = np.random.default_rng(7).normal(size=(3, *model.input_shape[1:])).astype("float32")
    np.save(tmp_path / "x.npy", x)
    ran = run_program(folder, tmp_path, str(tmp_path / "x.npy"))
    assert ran.returncode == 0, ran.stderr
    keras_values = np.asarray(model.predict(x, verbose=0)).ravel()
    np.testing.assert_allclose(printed_numbers(ran.stdout), keras_values, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("name", "code"),
    [("carnd_lambda_model.h5", "lambda-layer"), ("hls4ml_qkeras-v3_3layer.keras", "unknown-layer")],
)
def test_export_of_a_refused_model_is_409_with_the_reason(client, corpus, name, code):
    report = post_file(client, corpus / name).json()
    response = client.get(f"/api/v1/reports/{report['id']}/forward")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "export-refused"
    assert body["details"]["check_code"] == code
    assert "refused" in body["message"]


def test_export_of_an_unknown_report_is_404(client):
    response = client.get("/api/v1/reports/nosuchreport/forward")
    assert response.status_code == 404
    assert response.json()["code"] == "report-not-found"


def test_export_keys_a_bidirectional_layers_weights_by_direction(client, tmp_path):
    layers = keras.layers
    gru = layers.GRU(3, name="gru")
    model = keras.Sequential(
        [keras.Input((5, 3)), layers.Bidirectional(gru, name="bidi"), layers.Dense(1)]
    )
    path = tmp_path / "bidi.keras"
    model.save(path)
    report = post_file(client, path).json()
    folder = exported(client, report, tmp_path)
    with np.load(folder / "weights.npz") as npz:
        keys = {k for k in npz.files if k.startswith("bidi/")}
    # Two kernels share the role `kernel`: each is keyed by its name inside the layer.
    assert keys == {
        f"bidi/{direction}_gru/gru_cell/{role}"
        for direction in ("forward", "backward")
        for role in ("kernel", "recurrent_kernel", "bias")
    }
    ran = run_program(folder, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert largest_relative_difference(ran.stdout) <= report["check"]["tolerance"]


def test_report_page_links_the_program_and_a_refused_reports_page_does_not(
    client, design_report, corpus
):
    link = f'href="/api/v1/reports/{design_report["id"]}/forward"'
    assert link in client.get(f"/reports/{design_report['id']}").text
    refused = post_file(client, corpus / "carnd_lambda_model.h5").json()
    assert "/forward" not in client.get(f"/reports/{refused['id']}").text


def test_export_failure_on_our_side_is_409_with_a_code_never_a_500(client, tmp_path):
    body = {"spec": seed_spec(), "inputs": SEED_INPUT.tolist()}
    report = post(client, json=body, params={"recompute": "true"}).json()  # a report of its own
    kept = client.app.state.settings.exports_dir / report["id"]
    (kept / "export.json").write_text('{"status": "failed", "code": "export-failed"}')
    response = client.get(f"/api/v1/reports/{report['id']}/forward")
    assert response.status_code == 409
    assert response.json()["code"] == "export-unavailable"
    assert response.json()["details"]["reason_code"] == "export-failed"
