"""Every Keras 3 file of ../shared/corpus/wild/keras3/, through the API, against what its
writer and Keras 3.15.1 say (MANIFEST.md, the stored inputs and outputs, Keras loading the
file in this process).

For each file: the breakdown's totals are the writer's counts, and where Keras 3.15.1 loads
the file its `get_weights()` order and shapes are Keras'; the check, on the stored input,
passes and our reference gives the stored output; a file Keras cannot load by design
(custom classes, a Lambda, a subclassed model) is still explained, and its check says why in
words that name the class. The two `to_json()` specs are checked alone, with the check's
seeded weights (their compile settings left out of what Keras is given); the one with a
`.weights.h5` beside it is checked with it in test_keras2_wild.py.
"""

from __future__ import annotations

import io
import zipfile

import h5py
import numpy as np
import pytest

from tests.support.api import post, post_file
from tests.support.kerasref import keras
from tests.support.wild import WildModel, manifest

ROWS = manifest("keras3")
SPECS = [row for row in ROWS if row.path.suffix == ".json"]
FILES = [row for row in ROWS if row.path.suffix != ".json"]
# 896×896 images through a nested autoencoder: a check of about a minute.
SLOW = {"luciesvc_nested_autoencoder.keras"}
# What the check says of the files Keras 3.15.1 cannot load by design (MANIFEST.md).
UNLOADABLE = {
    "mmoffatt2_siamese_custom_l1.keras": ("refused", "unknown-layer", ["`L1`"]),
    "glbn333_pfam_transformer_custom.keras": (
        "refused",
        "unknown-layer",
        ["`TokenAndPositionEmbedding`"],
    ),
    "logan256_lambda_model.keras": ("refused", "lambda-layer", ["Lambda"]),
    "dwitunjung_prototypical_subclassed.keras": (
        "unsupported",
        "keras-not-functional",
        ["subclassed keras.Model", "PrototypicalNetwork"],
    ),
}


def marked(rows: list[WildModel]) -> list:
    return [
        pytest.param(row, id=row.file, marks=[pytest.mark.slow] if row.file in SLOW else [])
        for row in rows
    ]


@pytest.fixture(scope="module")
def client(tmp_path_factory, warm_pool):
    with warm_pool.client(tmp_path_factory.mktemp("wild3")) as client:
        yield client


@pytest.fixture(scope="module")
def reports(client):
    """Each file's report, checked on its stored input, made once for the module's tests."""
    made: dict[str, dict] = {}

    def report(row: WildModel) -> dict:
        if row.file not in made:
            files = {}
            stored = row.stored("input")
            if stored is not None:
                files["inputs"] = inputs_upload(stored)
            response = post_file(client, row.path, files=files)
            assert response.status_code == 201, response.json()
            made[row.file] = response.json()
        return made[row.file]

    return report


def inputs_upload(stored: np.ndarray | dict[str, np.ndarray]) -> tuple[str, bytes]:
    """The stored input as the caller's `.npy`, or `.npz` keyed by Input name."""
    buffer = io.BytesIO()
    if isinstance(stored, dict):
        np.savez(buffer, **stored)
        return "x.npz", buffer.getvalue()
    np.save(buffer, stored)
    return "x.npy", buffer.getvalue()


def stored_elements(path) -> tuple[int, int]:
    """The element counts of the arrays a `.keras` archive's weights file holds: (layers',
    a nested model's own optimizer's), the top-level optimizer's left out as MANIFEST.md does."""
    layers: list[int] = []
    nested_optimizer: list[int] = []
    with zipfile.ZipFile(path) as archive:
        weights = io.BytesIO(archive.read("model.weights.h5"))
    with h5py.File(weights, "r") as h5:

        def visit(name, obj):
            if not isinstance(obj, h5py.Dataset) or name.startswith("optimizer/"):
                return
            found = nested_optimizer if "optimizer" in name.split("/") else layers
            found.append(int(np.prod(obj.shape)))

        h5.visititems(visit)
    return sum(layers), sum(nested_optimizer)


def weights_in_order(report: dict) -> list[tuple[int, ...]]:
    found = [w for layer in report["layers"] for w in layer["weights"]]
    found.sort(key=lambda w: w["index"])
    assert [w["index"] for w in found] == list(range(len(found)))
    return [tuple(w["shape"]) for w in found]


def stored_outputs(row: WildModel, count: int) -> list[np.ndarray]:
    """The stored outputs in `model.outputs` order: one array, `output_0..n`, or keyed by
    output name (a dict of outputs, which Keras orders by sorted key)."""
    stored = row.stored("output")
    if not isinstance(stored, dict):
        return [stored]
    if all(f"output_{i}" in stored for i in range(count)):
        return [stored[f"output_{i}"] for i in range(count)]
    return [stored[name] for name in sorted(stored)]


@pytest.mark.parametrize("row", marked(FILES))
def test_wild_keras3_breakdown_counts_are_the_writers(reports, row):
    totals = reports(row)["totals"]
    if row.keras3_loads:
        assert (totals["params"], totals["non_trainable"]) == (row.total, row.non_trainable)
    else:  # MANIFEST.md counts the stored arrays, a nested model's optimizer's too
        layers, nested_optimizer = stored_elements(row.path)
        assert totals["params"] == layers
        assert layers + nested_optimizer == row.total


@pytest.mark.parametrize("row", marked([r for r in FILES if r.keras3_loads]))
def test_wild_keras3_weights_in_keras_get_weights_order(reports, row):
    model = keras.saving.load_model(row.path, compile=False)
    assert weights_in_order(reports(row)) == [tuple(w.shape) for w in model.weights]
    assert reports(row)["totals"]["weights"] == len(model.get_weights())


@pytest.mark.parametrize("row", marked([r for r in FILES if r.keras3_loads]))
def test_wild_keras3_check_passes_and_gives_the_stored_output(reports, row):
    check = reports(row)["check"]
    assert check["status"] == "passed", check
    assert check["inputs"]["source"] == "caller"
    tolerance = check["tolerance"]
    expected = stored_outputs(row, len(check["outputs"]))
    assert len(check["outputs"]) == len(expected)
    for output, stored in zip(check["outputs"], expected, strict=True):
        assert output["shape"] == list(stored.shape)
        assert output["max_rel_error"] <= tolerance
        if output["reference"] is not None:  # listed up to 4,096 values
            ours = np.asarray(output["reference"], dtype=np.float64)
            scale = max(float(np.max(np.abs(stored))), 1e-6)
            assert np.max(np.abs(ours - stored)) / scale <= tolerance, output["name"]


@pytest.mark.parametrize("row", [r for r in FILES if not r.keras3_loads], ids=str)
def test_wild_keras3_unloadable_file_is_explained_and_its_check_says_why(reports, row):
    status, code, named = UNLOADABLE[row.file]
    report = reports(row)
    assert report["layers"], "explained as far as its config goes"
    check = report["check"]
    assert (check["status"], check["code"]) == (status, code), check
    for words in named:
        assert words in check["message"]


def test_wild_keras3_subclassed_model_explains_the_model_its_config_holds(reports):
    [row] = [r for r in FILES if r.file == "dwitunjung_prototypical_subclassed.keras"]
    report = reports(row)
    classes = [layer["class_name"] for layer in report["layers"]]
    assert classes.count("Conv2D") == 3 and classes.count("Dense") == 2
    assert all(w["stats"] is not None for layer in report["layers"] for w in layer["weights"])


@pytest.fixture(scope="module")
def spec_reports(client):
    """Each spec's report, alone (no weights: the check's seeded draws), checked on its
    stored input where it has one."""
    made: dict[str, dict] = {}

    def report(row: WildModel) -> dict:
        if row.file not in made:
            stored = row.stored("input")
            files = {"inputs": inputs_upload(stored)} if stored is not None else {}
            response = post_file(client, row.path, files=files)
            assert response.status_code == 201, response.json()
            made[row.file] = response.json()
        return made[row.file]

    return report


@pytest.mark.parametrize("row", SPECS, ids=str)
def test_wild_keras3_spec_counts_are_the_writers(client, row):
    response = post(client, json={"spec": row.path.read_text(), "check": False})
    assert response.status_code == 201, response.json()
    totals = response.json()["totals"]
    assert (totals["params"], totals["non_trainable"]) == (row.total, row.non_trainable)


@pytest.mark.parametrize("row", SPECS, ids=str)
def test_wild_keras3_spec_weights_in_keras_get_weights_order(spec_reports, row):
    model = keras.models.model_from_json(row.path.read_text())  # compiles, as Keras does
    assert model.compiled, "its compile settings are what the check must leave out"
    report = spec_reports(row)
    assert weights_in_order(report) == [tuple(w.shape) for w in model.weights]
    assert report["totals"]["weights"] == len(model.get_weights())


@pytest.mark.parametrize("row", SPECS, ids=str)
def test_wild_keras3_spec_alone_check_passes_without_its_compile_settings(spec_reports, row):
    """Both wild specs hold a `compile_config` (their writers compiled the model first), which
    Keras would compile from: the copy Keras is given leaves it out, and says so. A spec has
    no weights: both sides run the check's seeded draws, so only Keras' outputs are ours to
    match (the stored output is the real weights')."""
    check = spec_reports(row)["check"]
    assert check["status"] == "passed", check
    assert check["inputs"]["source"] == ("caller" if row.stored("input") is not None else "seeded")
    [note] = [n for n in check["notes"] if "compile_config left out" in n]
    assert "(Sequential): compile_config left out" in note
    assert all(o["max_rel_error"] <= check["tolerance"] for o in check["outputs"])
    assert len(check["layers"]) >= 7
    assert all(layer["verdict"] == "passed" for layer in check["layers"])
