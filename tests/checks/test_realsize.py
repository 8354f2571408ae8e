"""Real-size models through the API: the budgets that admit a check are its result caps.

A check's outputs may be as large as the budgets allow, at the check's batch (the budgets
are per sample): the pool's own cap never decides. The keras.applications models at their
default input sizes, with default (seeded) inputs, pass; they are slow (a 100 MB upload, a
TensorFlow load, every layer's output written twice) and marked so.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.check.admission import output_caps
from app.check.budgets import BudgetLimits
from app.check.keras import WorkerPool
from tests.support.api import make_client, npy_upload, post_file
from tests.support.kerasref import keras

layers = keras.layers
GiB = 1 << 30
# Far below what conv_file (conftest.py) writes: 2 layers × 64 × 64 × 8 float32 per sample.
TINY_POOL_CAP = 4096


def test_output_caps_are_the_budgets_times_the_batch():
    limits = BudgetLimits(
        max_params=10,
        max_tensor_bytes=1 * GiB,
        max_activation_bytes=4 * GiB,
        max_layers=10,
        max_input_elements=10,
        max_input_bytes=40,
    )
    caps = output_caps(limits, batch=3)
    assert (caps.max_file_bytes, caps.max_total_bytes) == (3 * GiB, 12 * GiB)


def test_check_admitted_by_the_budgets_passes_whatever_the_pools_own_cap(tmp_path, conv_file):
    """The pool caps its jobs' outputs at 4 KiB by default; a check's caps are its budgets at
    its batch (here the caller's 5 samples: 1.3 MB of outputs), so it passes."""
    pool = WorkerPool(size=1, spares=0, max_output_bytes=TINY_POOL_CAP)
    pool.start()
    try:
        with make_client(tmp_path, pool) as client:
            x = np.random.default_rng(0).normal(size=(5, 64, 64, 3)).astype("float32")
            response = post_file(client, conv_file, files={"inputs": npy_upload(x)})
        assert response.status_code == 201, response.text
        check = response.json()["check"]
        assert check["status"] == "passed", check
        assert check["inputs"]["batch_size"] == 5
        assert [layer["output_shape"] for layer in check["layers"]] == [[[5, 64, 64, 8]]] * 2
    finally:
        pool.stop()


@pytest.fixture(scope="module")
def client(tmp_path_factory, warm_pool):
    with warm_pool.client(tmp_path_factory.mktemp("realsize")) as client:
        yield client


def test_check_over_the_tensor_budget_is_refused_before_it_starts_saying_what_to_do(client):
    """UpSampling2D(129) of 64 × 64 × 4: 8,256² × 4 × 4 = 1,090,584,576 bytes per sample,
    over the 1 GiB tensor budget: 422 before any worker is asked, with a way out."""
    spec = keras.Sequential([keras.Input((64, 64, 4)), layers.UpSampling2D(size=129)]).to_json()
    response = client.post("/api/v1/reports", json={"spec": spec})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "tensor-budget-exceeded"
    assert body["details"]["figures"]["largest_tensor"]["bytes"] == 1_090_584_576
    assert body["details"]["limits"]["max_tensor_bytes"] == GiB
    assert "smaller input size" in body["message"] and "check=false" in body["message"]


@pytest.mark.slow
@pytest.mark.parametrize("architecture", ["ResNet50", "MobileNetV2"])
def test_check_of_an_application_at_its_default_size_passes(client, tmp_path, architecture):
    """weights=None, the default input size (224 × 224 × 3), default inputs (seeded, batch 2):
    ResNet50's layer outputs are 284 MiB at batch 2, over the 256 MiB the result cap was."""
    model = getattr(keras.applications, architecture)(weights=None)
    path = tmp_path / f"{architecture.lower()}.keras"
    model.save(path)
    response = post_file(client, path)
    assert response.status_code == 201, response.text
    check = response.json()["check"]
    assert check["status"] == "passed", {k: check.get(k) for k in ("code", "message")}
    assert check["inputs"]["source"] == "seeded"
    assert check["inputs"]["shapes"] == [[2, 224, 224, 3]]
    compared = [layer for layer in check["layers"] if layer["verdict"] == "passed"]
    assert len(compared) == len(model.layers) - 1  # every layer but the InputLayer
    [output] = check["outputs"]
    assert output["shape"] == [2, 1000]
