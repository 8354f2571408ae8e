"""The call Keras runs for the check: an eager call by default, `predict` as an option
(`keras_call`, a query parameter or a form/JSON field, and `inspect --keras-call`); the
report names the call that ran, in its JSON, on its page and in the terminal."""

from __future__ import annotations

import json

import pytest

from app.cli import EXIT_OK, main
from tests.support.api import post, post_file
from tests.support.files import saved
from tests.support.models import SEED_INPUT, seed_spec, small_model


@pytest.fixture(scope="module")
def client(tmp_path_factory, warm_pool):
    with warm_pool.client(tmp_path_factory.mktemp("keras-call")) as client:
        yield client


def spec_body(**fields) -> dict:
    return {"spec": seed_spec(), "inputs": SEED_INPUT.tolist(), **fields}


def test_check_runs_an_eager_call_by_default_and_says_so(client):
    response = post(client, json=spec_body())
    assert response.status_code == 201
    check = response.json()["check"]
    assert check["status"] == "passed", check
    assert check["keras_call"] == "call"
    page = client.get(f"/reports/{response.json()['id']}").text
    assert 'data-keras-call="call"><code>model(x, training=False)</code>' in page


def test_check_runs_predict_when_asked_in_the_query_and_says_so(client):
    response = post(client, json=spec_body(), params={"keras_call": "predict"})
    assert response.status_code == 201
    check = response.json()["check"]
    assert check["status"] == "passed", check
    assert check["keras_call"] == "predict"
    page = client.get(f"/reports/{response.json()['id']}").text
    assert 'data-keras-call="predict"><code>model.predict(x)</code>' in page


def test_check_runs_predict_when_asked_in_a_form_field(client, tmp_path):
    path = saved(small_model(), tmp_path / "m.keras")
    response = post_file(client, path, data={"keras_call": "predict"})
    assert response.status_code == 201
    assert response.json()["check"]["keras_call"] == "predict"


def test_check_with_each_call_is_a_report_of_its_own(client):
    first = post(client, json=spec_body(), params={"keras_call": "call"}).json()
    second = post(client, json=spec_body(), params={"keras_call": "predict"}).json()
    assert first["id"] != second["id"]
    assert [first["check"]["keras_call"], second["check"]["keras_call"]] == ["call", "predict"]


def test_unknown_keras_call_is_a_400(client):
    response = post(client, json=spec_body(keras_call="fit"))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid-request"
    assert body["message"] == "The field `keras_call` must be `call` or `predict`."


def test_predict_in_training_mode_is_a_400_saying_why(client):
    response = post(client, json=spec_body(mode="training", keras_call="predict"))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid-request"
    assert "keras_call=predict runs inference only" in body["message"]


def test_inspect_runs_the_call_asked_for_and_names_it(tmp_path, capsys):
    path = saved(small_model(), tmp_path / "m.keras")
    assert main(["inspect", "--check", "--keras-call", "predict", "--json", str(path)]) == EXIT_OK
    check = json.loads(capsys.readouterr().out)["check"]
    assert check["status"] == "passed"
    assert check["keras_call"] == "predict"
