"""`GET /api/v1/reports/{id}/forward` of a report whose check did not run (check=false, or a
service without Keras workers): a model file is exported with the weights it stores and
seeded inputs, and no Keras outputs; a spec without weights is a 409 that asks for the check;
a model the safety scan refuses is refused as its check would be."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.api import make_client, post, post_file
from tests.support.exported import foreign_imports, printed_numbers, run_program, unzip
from tests.support.models import build, seed_spec

UNCHECKED = {"check": "false"}
NO_WORKERS = {"check": "true"}  # asked for, on a service that runs no Keras workers
FILES = {"model_forward.py", "weights.npz", "inputs.npy", "README.txt"}  # no expected.npz


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """No Keras workers: nothing here runs Keras in the service."""
    with make_client(tmp_path_factory.mktemp("unchecked")) as client:
        yield client


@pytest.fixture(scope="module")
def conv_bn(tmp_path_factory):
    """A model with trained-looking weights (BatchNormalization statistics not 0 and 1), saved."""
    model = build("conv_bn")
    path = tmp_path_factory.mktemp("model") / "conv_bn.keras"
    model.save(path)
    return model, path


def forward_zip(client, report_id: str):
    """Once the program is written: it is written just after the report is answered."""
    client.app.state.reports.wait_for_exports()
    return client.get(f"/api/v1/reports/{report_id}/forward")


@pytest.mark.parametrize("params", [UNCHECKED, NO_WORKERS], ids=["check-false", "no-workers"])
def test_export_of_a_file_whose_check_did_not_run_holds_its_weights(
    client, conv_bn, tmp_path, params
):
    model, path = conv_bn
    report = post_file(client, path, params=params).json()
    assert report["check"]["status"] == "not_run"
    response = forward_zip(client, report["id"])
    assert response.status_code == 200, response.text
    folder = unzip(response.content, tmp_path)
    assert {p.name for p in folder.iterdir()} == FILES
    with np.load(folder / "weights.npz") as npz:
        for layer in model.layers:
            for weight in layer.weights:  # the file's values, as Keras holds them
                role = weight.path.rsplit("/", 1)[-1]
                np.testing.assert_array_equal(npz[f"{layer.name}/{role}"], weight.numpy())
    readme = (folder / "README.txt").read_text()
    assert "no Keras outputs to compare with" in readme
    assert foreign_imports(folder / "model_forward.py") == set()
    ran = run_program(folder, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "largest difference" not in ran.stdout
    x = np.load(folder / "inputs.npy")
    keras_values = np.asarray(model.predict(x, verbose=0)).ravel()
    np.testing.assert_allclose(printed_numbers(ran.stdout), keras_values, rtol=1e-4, atol=1e-5)


def test_export_of_a_spec_whose_check_did_not_run_asks_for_the_check(client):
    report = post(client, json={"spec": seed_spec()}, params=UNCHECKED).json()
    response = forward_zip(client, report["id"])
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "export-needs-check"
    assert "check=true" in body["message"] and "seeded" in body["message"]


def test_export_of_a_refused_file_whose_check_did_not_run_is_refused(client, corpus):
    report = post_file(client, corpus / "carnd_lambda_model.h5", params=UNCHECKED).json()
    assert report["check"]["status"] == "not_run"
    response = forward_zip(client, report["id"])
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "export-refused"
    assert body["details"]["reason_code"] == "lambda-layer"
    assert "Lambda" in body["message"]


def test_report_page_of_a_file_whose_check_did_not_run_links_its_program(client, conv_bn):
    report = post_file(client, conv_bn[1], params=UNCHECKED).json()
    assert (
        f'href="/api/v1/reports/{report["id"]}/forward"'
        in client.get(f"/reports/{report['id']}").text
    )


def test_a_program_still_being_written_is_not_ready(client, conv_bn):
    """Between the answer and the program: 409 `export-not-ready`, then the zip."""
    from app.export.bundle import ExportRecord, export_folder, record_export

    report = post_file(client, conv_bn[1], params=UNCHECKED).json()
    client.app.state.reports.wait_for_exports()
    folder = export_folder(client.app.state.settings.exports_dir, report["id"])
    written = (folder / "export.json").read_text()
    record_export(folder, ExportRecord(status="writing"))
    response = client.get(f"/api/v1/reports/{report['id']}/forward")
    assert response.status_code == 409 and response.json()["code"] == "export-not-ready"
    (folder / "export.json").write_text(written)
    assert client.get(f"/api/v1/reports/{report['id']}/forward").status_code == 200
    assert not (folder / ".model").exists()  # the upload's link is gone once written


def test_a_reading_process_dying_after_the_report_fails_the_program_not_the_report(
    client, conv_bn, monkeypatch
):
    """Without a check the answer does not wait for the model read (made after the report,
    for the program only): a reading process killed once it has sent the report leaves the
    report answered and stored, and its program failed. (The old code waited for the model
    read before storing the report, and answered the crash: 400.)"""
    from app import explain
    from tests.support.hostile_tasks import dies_after_the_report

    monkeypatch.setattr(explain, "explain_task", dies_after_the_report)
    response = post_file(client, conv_bn[1], params={**UNCHECKED, "recompute": "true"})
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["check"]["status"] == "not_run" and report["layers"]
    assert client.get(f"/api/v1/reports/{report['id']}").json() == report
    forward = forward_zip(client, report["id"])
    assert forward.status_code == 409, forward.text
    body = forward.json()
    assert body["code"] == "export-unavailable"
    assert body["details"]["reason_code"] == "unreadable-file"


def test_a_reading_process_ends_after_its_answer_whatever_programs_are_queued(
    client, conv_bn, monkeypatch
):
    """The model read that the program needs is taken as soon as it comes, not when the
    program's turn comes: with the program writer held by another program, the reading
    process is still ended (its end called) at once; the program follows once the writer is
    free."""
    import threading

    from app import explain

    ended = threading.Event()
    outlive = explain._InChild.outlive

    def recorded(self):
        end = outlive(self)

        def ending():
            end()
            ended.set()

        return ending

    monkeypatch.setattr(explain._InChild, "outlive", recorded)
    reports = client.app.state.reports
    free = threading.Event()
    reports._exports.submit(free.wait)  # another program being written
    try:
        response = post_file(client, conv_bn[1], params={**UNCHECKED, "recompute": "true"})
        assert response.status_code == 201, response.text
        assert ended.wait(timeout=30), "the reading process waited for the program writer"
    finally:
        free.set()
    reports.wait_for_exports()
    assert forward_zip(client, response.json()["id"]).status_code == 200
