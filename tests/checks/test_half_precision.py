"""Models that compute in float16 or bfloat16 (mixed precision, or a half-precision policy):
read, and checked against Keras, each half-precision layer held to its dtype's precision
(app.reference.precision, app.check.compare). Before: every such check failed at its first
layer (float32 arithmetic against Keras' float16), a `mixed_bfloat16` check ended in an error
(Keras' bfloat16 outputs), a `bfloat16` `.keras` was refused as damaged, and tf.keras' own
`Policy` objects were refused as unknown."""

from __future__ import annotations

import json
import re

import h5py
import numpy as np
import pytest

from app.check.compare import HALF_PRECISION_TOLERANCE, compare_layer
from tests.support.api import post_file
from tests.support.exported import foreign_imports, largest_relative_difference, run_program, unzip
from tests.support.kerasref import keras

layers = keras.layers
HALF = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16", "float16": "float16"}
HALF["bfloat16"] = "bfloat16"
# Conv2D(3 → 4, 3×3): 108 + 4; BatchNormalization(4): 16, 8 of them non-trainable;
# Dense(4 → 5): 20 + 5.
TOTALS = {"params": 153, "non_trainable": 8}


@pytest.fixture(scope="module")
def client(tmp_path_factory, warm_pool):
    with warm_pool.client(tmp_path_factory.mktemp("half")) as client:
        yield client


def half_model(policy: str):
    """Conv2D → BatchNormalization → ReLU → pooling → Dense in `policy`, and a float32
    softmax last, as the mixed-precision guide has it; seeded weights (BatchNormalization's
    statistics off their defaults)."""
    model = keras.Sequential(
        [
            keras.Input((6, 6, 3)),
            layers.Conv2D(4, 3, padding="same", dtype=policy),
            layers.BatchNormalization(dtype=policy),
            layers.ReLU(dtype=policy),
            layers.GlobalAveragePooling2D(dtype=policy),
            layers.Dense(5, dtype=policy),
            layers.Activation("softmax", dtype="float32"),
        ]
    )
    rng = np.random.default_rng(3)
    model.set_weights(
        [
            rng.uniform(0.5, 2.0, w.shape) if "variance" in w.path else rng.normal(0, 0.5, w.shape)
            for w in model.weights
        ]
    )
    return model


def checked(client, path):
    response = post_file(client, path, params={"wait": "true"})
    assert response.status_code == 201, response.json()
    return response.json()


# Keras 3.15 cannot load its own bfloat16 `.h5` ("No cast function available"): not a case.
SAVED = [(p, s) for p in sorted(HALF) for s in (".keras", ".h5") if (p, s) != ("bfloat16", ".h5")]


@pytest.mark.parametrize(("policy", "suffix"), SAVED)
def test_half_precision_model_check_passes(client, tmp_path, policy, suffix):
    path = tmp_path / f"model{suffix}"
    half_model(policy).save(path)
    report = checked(client, path)
    assert {k: report["totals"][k] for k in TOTALS} == TOTALS
    check = report["check"]
    assert check["status"] == "passed", check
    dtype = HALF[policy]
    assert f"the 5 layers computing in {dtype}" in check["message"]
    for layer in check["layers"][:5]:
        assert layer["verdict"] == "passed"
        assert (layer["note"] or "").startswith(f"Computes in {dtype}") or "Keras' own" in (
            layer["note"] or ""
        )
    assert check["layers"][5]["name"].startswith("activation")


def test_bfloat16_weights_are_read_as_keras_gives_them(client, tmp_path):
    path = tmp_path / "model.keras"
    model = half_model("bfloat16")
    model.save(path)
    report = checked(client, path)
    conv = next(layer for layer in report["layers"] if layer["class_name"] == "Conv2D")
    kernel = next(w for w in conv["weights"] if w["name"] == "kernel")
    assert kernel["dtype"] == "bfloat16"
    expected = np.asarray(model.layers[0].kernel.numpy()).astype(np.float32)
    assert kernel["stats"]["max"] == pytest.approx(float(expected.max()), abs=0)
    assert kernel["stats"]["min"] == pytest.approx(float(expected.min()), abs=0)


@pytest.mark.parametrize("module", ["keras.mixed_precision", None])
def test_tf_keras_policy_objects_are_read_and_checked(client, tmp_path, module):
    """tf_keras 2.13+ writes each layer's mixed-precision policy as its own `Policy` object
    (tf.keras 2.4-2.12 the same without `module`): allowed, and Keras 3 is given its name."""
    path = tmp_path / "model.h5"
    half_model("mixed_float16").save(path)
    with h5py.File(path, "r+") as h5:
        config = json.loads(h5.attrs["model_config"])
        for entry in config["config"]["layers"]:
            policy = entry["config"].get("dtype")
            if isinstance(policy, dict) and policy["config"]["name"] == "mixed_float16":
                written = {"class_name": "Policy", "config": {"name": "mixed_float16"}}
                if module is not None:
                    written = {"module": module, **written, "registered_name": None}
                entry["config"]["dtype"] = written
        h5.attrs["model_config"] = json.dumps(config)
        h5.attrs["keras_version"] = "2.15.0"
    check = checked(client, path)["check"]
    assert check["status"] == "passed", check
    assert "conv2d" in " ".join(check["notes"]) and 'dtype given as "mixed_float16"' in " ".join(
        check["notes"]
    )


@pytest.mark.parametrize("policy", ["bfloat16", "mixed_float16"])
def test_half_precision_program_rounds_as_keras_does(client, tmp_path, policy):
    """The exported NumPy program makes Keras' casts too (a `bfloat16` Input cast with
    `astype('bfloat16')`, which NumPy has not, ended the program before), and gives Keras'
    outputs within the half-precision tolerance."""
    path = tmp_path / "model.keras"
    half_model(policy).save(path)
    report = checked(client, path)
    response = client.get(f"/api/v1/reports/{report['id']}/forward")
    assert response.status_code == 200, response.text
    folder = unzip(response.content, tmp_path / "program")
    program = (folder / "model_forward.py").read_text()
    assert re.search(rf"= rounded\(conv2d(_\d+)?, {HALF[policy]!r}\)", program)
    assert foreign_imports(folder / "model_forward.py") == set()
    ran = run_program(folder, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert largest_relative_difference(ran.stdout) <= HALF_PRECISION_TOLERANCE[HALF[policy]]


# A float16 layer is held to four steps of float16 at the top of its output (4 · 2**-10 =
# 3.90625e-3), a float32 layer to the check's 1e-4: a layer's output of scale 1 off by 3e-3
# passes in float16 and fails in float32, and off by 5e-3 fails in both.
KERAS_OUT = [np.array([[1.0, -0.5]], np.float32)]


@pytest.mark.parametrize(
    ("error", "precision", "verdict"),
    [(3e-3, "float16", "passed"), (5e-3, "float16", "failed"), (3e-3, None, "failed")],
)
def test_a_half_precision_layer_is_held_to_its_precision_and_no_further(error, precision, verdict):
    ours = [KERAS_OUT[0] + np.array([[error, 0.0]], np.float32)]
    layer = compare_layer("dense", "Dense", ours, KERAS_OUT, 1e-4, precision)
    assert layer.verdict == verdict
    assert layer.max_rel_error == pytest.approx(error, rel=1e-4)
    if verdict == "passed":
        assert "held to 3.91e-03" in layer.note
