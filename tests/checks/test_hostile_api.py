"""The hostile corpus through the API, with real Keras workers behind it: each construct is
explained with its check refused, or refused outright with its 4xx code; no canary fires, no
5xx, nothing is left behind, and the service keeps answering."""

from __future__ import annotations

import random
import shutil
import time
import zipfile

import h5py
import numpy as np
import pytest

from tests.support.api import finished
from tests.support.fuzzing import mutate_bytes
from tests.support.hostile import (
    CANARY,
    CONSTRUCTS,
    FORMATS,
    POSITIONS,
    inject,
    save_base,
    with_member,
    with_model_config,
)

FUZZ_CASES = 40


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return save_base(tmp_path_factory.mktemp("base"))


@pytest.fixture(scope="module")
def client(tmp_path_factory, warm_pool):
    with warm_pool.client(tmp_path_factory.mktemp("hostile")) as client:
        yield client


def submit(client, saved, fmt, text, folder):
    """POST the base model in `fmt` with its config replaced by `text`."""
    if fmt == "spec_json":
        return client.post("/api/v1/reports", json={"spec": text})
    if fmt == "keras_v3":
        path = with_member(saved.keras_path, folder, "config.json", text)
    else:
        path = with_model_config(saved.h5_path, folder, text)
    return client.post("/api/v1/reports", files={"file": (path.name, path.read_bytes())})


def leftovers(client):
    work = client.app.state.work_dir
    return [p for p in work.rglob("*") if p.is_file()]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("position", ["top", "nested"])
@pytest.mark.parametrize("construct", sorted(CONSTRUCTS))
def test_code_bearing_upload_is_explained_and_its_check_refused(
    client, saved, tmp_path, construct, position, fmt
):
    make, code = CONSTRUCTS[construct]
    layer_path = POSITIONS[position]
    text = inject(saved.config(fmt), layer_path[-1], make(tmp_path))
    response = submit(client, saved, fmt, text, tmp_path)
    if response.status_code == 422:  # a spec naming a class the registry lacks: no weights
        refused = (fmt, response.json()["code"])
        if construct == "file-vocabulary":  # a legacy .h5 keeps the Dense's arrays under the
            # name of a StringLookup, which has no weights: they are refused before any scan
            assert refused == ("legacy_h5", "weight-mismatch")
        else:
            assert refused == ("spec_json", "unknown-layers")
        assert not (tmp_path / CANARY).exists()
        return
    assert response.status_code == 201, response.text
    report = response.json()
    check = finished(client, report["id"])
    assert (check["status"], check["code"]) == ("refused", code)
    assert [r["path"] for r in check["details"]["refusals"]] == [list(layer_path)]
    assert not (tmp_path / CANARY).exists()


def zip_slip(saved, folder):
    target = folder / "slip.keras"
    with zipfile.ZipFile(saved.keras_path) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            new.writestr(info, old.read(info))
        new.writestr("../../etc/evil.json", "{}")
    return target


def duplicate_member(saved, folder):
    target = folder / "twice.keras"
    with zipfile.ZipFile(saved.keras_path) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            new.writestr(info, old.read(info))
        with pytest.warns(UserWarning):
            new.writestr("config.json", old.read("config.json"))
    return target


def polyglot(saved, folder):
    target = folder / "both.h5"
    target.write_bytes(saved.h5_path.read_bytes() + saved.keras_path.read_bytes())
    return target


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (zip_slip, 400, "unsafe-member-name"),
        (duplicate_member, 400, "duplicate-member"),
        (polyglot, 400, "polyglot-file"),
    ],
)
def test_hostile_file_is_refused_with_its_code(client, saved, tmp_path, make, status, code):
    path = make(saved, tmp_path)
    response = client.post("/api/v1/reports", files={"file": (path.name, path.read_bytes())})
    assert (response.status_code, response.json()["code"]) == (status, code)


def test_fuzzed_uploads_never_get_a_5xx_and_leave_nothing(client, saved):
    rng = random.Random(7)
    sources = [saved.keras_path.read_bytes(), saved.h5_path.read_bytes()]
    statuses = set()
    for _ in range(FUZZ_CASES):
        data = mutate_bytes(rng.choice(sources), rng)
        response = client.post(
            "/api/v1/reports", files={"file": ("fuzz", data)}, params={"check": "false"}
        )
        statuses.add(response.status_code)
        assert response.status_code < 500, response.text
    assert statuses - {201} <= {400, 413, 415, 422}
    assert leftovers(client) == []
    assert client.get("/api/v1/health").json()["status"] == "ok"


def damaged_arrays(saved, folder):
    """The base `.h5` with one kernel stored deflated and its compressed bytes overwritten:
    the structure reads (and passes the gate), the values do not."""
    path = folder / "damaged.h5"
    shutil.copyfile(saved.h5_path, path)
    with h5py.File(path, "r+") as h5:
        names = []
        h5["model_weights"].visit(names.append)
        name = next(n for n in names if n.endswith("kernel") or n.endswith("kernel:0"))
        group, leaf = h5["model_weights"], name
        values = np.asarray(group[leaf])
        del group[leaf]
        group.create_dataset(leaf, data=values, compression="gzip", chunks=values.shape)
        info = group[leaf].id.get_chunk_info(0)
    with path.open("r+b") as fh:
        fh.seek(info.byte_offset)
        fh.write(b"\xff" * info.size)
    return path


def test_a_check_started_at_the_gate_of_a_file_refused_after_it_leaves_nothing(
    client, saved, tmp_path
):
    """The check starts once the model is read; the report fails later (damaged values):
    the answer is a 4xx, no report is stored, and the started check ends leaving nothing."""
    path = damaged_arrays(saved, tmp_path)
    response = client.post("/api/v1/reports", files={"file": (path.name, path.read_bytes())})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "malformed-model"
    checks = client.app.state.reports.checks
    deadline = time.monotonic() + 120
    while checks.active() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert checks.active() == 0
    assert leftovers(client) == []
    assert client.get("/api/v1/health").json()["status"] == "ok"
