"""POST /api/v1/comparisons, GET /api/v1/comparisons/{id}, the page, and `keras-explainer
diff`: status first, then the exact fields and codes."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")

from app.cli import main  # noqa: E402
from tests.support.api import make_client  # noqa: E402


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """a and b: the same named Dense model; b's `last` kernel moved by 0.25."""
    folder = tmp_path_factory.mktemp("pair")
    keras.utils.set_random_seed(3)
    inputs = keras.Input((4,), name="x")
    h = keras.layers.Dense(5, activation="relu", name="first")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, name="last")(h))
    model.save(folder / "a.keras")
    last = model.get_layer("last")
    last.kernel.assign(last.kernel.numpy() + 0.25)
    model.save(folder / "b.keras")
    (folder / "junk.h5").write_bytes(b"not a model at all")
    return folder


@pytest.fixture
def client(tmp_path):
    with make_client(tmp_path) as client:
        yield client


def post(client, a, b, **kwargs):
    files = {"a": (a.name, a.read_bytes()), "b": (b.name, b.read_bytes())}
    return client.post("/api/v1/comparisons", files=files, **kwargs)


def test_post_two_files_answers_201_with_the_comparison(client, pair):
    response = post(client, pair / "a.keras", pair / "b.keras")

    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/api/v1/comparisons/{body['id']}"
    assert body["verdict"] == "weights-differ"
    changed = [d["b"]["name"] for d in body["layers"] if d["weights_status"] == "changed"]
    assert changed == ["last"]
    [kernel] = [w for d in body["layers"] for w in d["weights"] if w["status"] == "changed"]
    assert kernel["max_abs_change"] == pytest.approx(0.25, rel=1e-6)
    for side in ("a", "b"):
        report = client.get(f"/api/v1/reports/{body[side]['report_id']}")
        assert report.status_code == 200
        assert report.json()["source"]["sha256"] == body[side]["source"]["sha256"]


def test_get_comparison_and_the_same_pair_again_from_the_store(client, pair):
    first = post(client, pair / "a.keras", pair / "b.keras").json()

    again = post(client, pair / "a.keras", pair / "b.keras")
    fetched = client.get(f"/api/v1/comparisons/{first['id']}")

    assert again.status_code == 200 and again.json()["id"] == first["id"]
    assert fetched.status_code == 200 and fetched.json() == first


def test_refused_side_is_named_and_keeps_its_code(client, pair):
    response = post(client, pair / "a.keras", pair / "junk.h5")

    assert response.status_code == 415
    body = response.json()
    assert body["code"] == "unsupported-format"
    assert body["details"]["side"] == "b"
    assert body["message"].startswith("Model b: ")


def test_missing_side_is_a_400_naming_it(client, pair):
    files = {"a": ("a.keras", (pair / "a.keras").read_bytes())}
    response = client.post("/api/v1/comparisons", files=files)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid-request"
    assert response.json()["details"]["side"] == "b"


def test_unknown_comparison_is_404(client):
    response = client.get("/api/v1/comparisons/0123456789abcdef")

    assert response.status_code == 404
    assert response.json()["code"] == "comparison-not-found"


def test_report_ids_compare_when_uploads_are_kept(tmp_path, pair):
    with make_client(tmp_path, keep_uploads=True) as client:
        ids = []
        for name in ("a.keras", "b.keras"):
            files = {"file": (name, (pair / name).read_bytes())}
            created = client.post("/api/v1/reports?check=false", files=files)
            assert created.status_code == 201
            ids.append(created.json()["id"])

        response = client.post("/api/v1/comparisons", json={"a": ids[0], "b": ids[1]})

        assert response.status_code == 201
        assert [response.json()[s]["report_id"] for s in ("a", "b")] == ids
        missing = client.post("/api/v1/comparisons", json={"a": ids[0], "b": "f" * 32})
        assert missing.status_code == 404
        assert missing.json()["code"] == "report-not-found"
        assert missing.json()["details"]["side"] == "b"


def test_report_id_without_kept_upload_is_model_not_kept(client, pair):
    files = {"file": ("a.keras", (pair / "a.keras").read_bytes())}
    report_id = client.post("/api/v1/reports?check=false", files=files).json()["id"]

    response = client.post("/api/v1/comparisons", json={"a": report_id, "b": report_id})

    assert response.status_code == 400
    assert response.json()["code"] == "model-not-kept"
    assert response.json()["details"]["side"] == "a"


def test_page_lists_layers_and_filters_changed_only_without_script(client, pair):
    comparison = post(client, pair / "a.keras", pair / "b.keras").json()

    page = client.get(f"/comparisons/{comparison['id']}", headers={"accept": "text/html"})
    changed = client.get(f"/comparisons/{comparison['id']}?changed=1")

    assert page.status_code == 200 and changed.status_code == 200
    assert 'data-layer="first"' in page.text and 'data-layer="last"' in page.text
    assert 'data-layer="first"' not in changed.text and 'data-layer="last"' in changed.text
    assert f'href="/reports/{comparison["a"]["report_id"]}"' in page.text
    assert "Relative change per layer" in page.text


def test_browser_form_post_redirects_to_the_page(client, pair):
    response = post(
        client,
        pair / "a.keras",
        pair / "b.keras",
        headers={"accept": "text/html"},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"].startswith("/comparisons/")


def test_report_page_offers_to_compare(client, pair):
    files = {"file": ("a.keras", (pair / "a.keras").read_bytes())}
    report_id = client.post("/api/v1/reports?check=false", files=files).json()["id"]

    page = client.get(f"/reports/{report_id}", headers={"accept": "text/html"})

    assert 'id="compare-form"' in page.text
    assert 'action="/api/v1/comparisons"' in page.text


def test_openapi_documents_the_comparison_routes(client):
    paths = client.get("/openapi.json").json()["paths"]

    assert "post" in paths["/api/v1/comparisons"]
    assert "404" in paths["/api/v1/comparisons/{comparison_id}"]["get"]["responses"]


@pytest.mark.parametrize(
    ("a", "b", "code"),
    [("a.keras", "a.keras", 0), ("a.keras", "b.keras", 1), ("a.keras", "junk.h5", 3)],
)
def test_cli_diff_exit_codes(pair, a, b, code, capsys):
    assert main(["diff", str(pair / a), str(pair / b)]) == code
    if code == 3:
        assert "Model b" in capsys.readouterr().err


def test_cli_diff_architecture_differs_exits_2(tmp_path, pair, capsys):
    inputs = keras.Input((4,), name="x")
    keras.Model(inputs, keras.layers.Dense(2, name="last")(inputs)).save(tmp_path / "c.keras")

    assert main(["diff", str(pair / "a.keras"), str(tmp_path / "c.keras"), "--json"]) == 2
    assert '"verdict": "architecture-differs"' in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [["diff"], ["diff", "a.keras"], ["diff", "a.keras", "b.keras", "--no-such-option"]],
    ids=["no-files", "one-file", "unknown-option"],
)
def test_cli_diff_usage_errors_exit_4_not_2(argv, capsys):
    """2 is "the architecture differs": argparse's own usage exit would read as a verdict."""
    assert main(argv) == 4
    assert "usage:" in capsys.readouterr().err


def test_cli_diff_missing_file_exits_4(tmp_path, capsys):
    assert main(["diff", str(tmp_path / "absent.keras"), str(tmp_path / "absent.h5")]) == 4
    assert "no such file" in capsys.readouterr().err


def test_side_over_the_size_cap_is_413_naming_it(tmp_path, pair):
    with make_client(tmp_path, max_upload_bytes=2000) as client:
        files = {"a": ("a.json", b"{}"), "b": ("big.h5", b"\0" * 3000)}
        response = client.post("/api/v1/comparisons", files=files)

    assert response.status_code == 413
    assert response.json()["code"] == "file-too-large"
    assert response.json()["details"]["side"] == "b"


def test_hostile_archive_side_is_refused_by_the_safety_scan(client, pair, tmp_path):
    import zipfile

    hostile = tmp_path / "evil.keras"
    with zipfile.ZipFile(hostile, "w") as archive:
        archive.writestr("../../etc/cron.d/evil", "* * * * * root true")
        archive.writestr("config.json", "{}")

    response = post(client, hostile, pair / "b.keras")

    assert response.status_code == 400
    assert response.json()["code"] == "unsafe-member-name"
    assert response.json()["details"]["side"] == "a"


def test_report_page_form_with_kept_uploads_sends_the_report_id(tmp_path, pair):
    """The form's hidden `a` is the report's id; `b` a file: one side of each kind."""
    with make_client(tmp_path, keep_uploads=True) as client:
        files = {"file": ("a.keras", (pair / "a.keras").read_bytes())}
        report_id = client.post("/api/v1/reports?check=false", files=files).json()["id"]
        page = client.get(f"/reports/{report_id}", headers={"accept": "text/html"})
        assert f'name="a" value="{report_id}"' in page.text

        response = client.post(
            "/api/v1/comparisons",
            data={"a": report_id},
            files={"b": ("b.keras", (pair / "b.keras").read_bytes())},
        )

    assert response.status_code == 201
    assert response.json()["a"]["report_id"] == report_id
    assert response.json()["verdict"] == "weights-differ"
