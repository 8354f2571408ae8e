"""The program says what the check found of an output over the tolerance end to end whose
layer is within it on Keras' own inputs (app.check.rejudge: the network amplifies float32
rounding by itself): the check passes such an output and keeps its note beside Keras'
outputs (`note<i>` in expected.npz); the program prints it and does not exit 1 for it."""

from __future__ import annotations

import numpy as np
import pytest

from app.export.bundle import add_expected
from tests.support.api import post_file
from tests.support.exported import (
    export_file,
    largest_relative_difference,
    run_program,
    unzip,
)
from tests.support.kerasref import keras

# Input(2) → Dense d (kernel I, bias 0) on x = [[1, 2], [3, 4]]: our forward gives x. Keras'
# output written here as [[1, 2], [3, 4.002]]: 0.002 off against a scale of 4.002, 5.00e-4
# relative, over 1e-4.
X = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
KERAS_D = np.array([[1.0, 2.0], [3.0, 4.002]], dtype=np.float32)
NOTE = (
    "5.00e-04 from Keras' end to end, over the tolerance; its layer d: On Keras' own inputs "
    "this layer is within 3.00e-07; the 5.00e-04 it shows end to end is what its inputs carry."
)


@pytest.fixture(scope="module")
def identity_file(tmp_path_factory):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, name="d")])
    model.layers[0].set_weights([np.eye(2, dtype=np.float32), np.zeros(2, dtype=np.float32)])
    path = tmp_path_factory.mktemp("identity") / "d.keras"
    model.save(path)
    return path


def test_an_output_the_check_passed_on_keras_inputs_is_said_so_and_exits_0(identity_file, tmp_path):
    folder = export_file(identity_file, [X], None, tmp_path / "program")
    add_expected(folder, [KERAS_D], [NOTE])
    ran = run_program(folder, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert largest_relative_difference(ran.stdout) == pytest.approx(0.002 / 4.002, rel=1e-3)
    assert "d: over the check's tolerance 0.0001 end to end, and passed by the check" in ran.stdout
    assert "within 3.00e-07" in ran.stdout
    assert "amplifies float32 rounding by itself" in ran.stdout
    assert "over the check's tolerance" not in ran.stderr


def test_an_output_over_the_tolerance_without_the_checks_note_exits_1(identity_file, tmp_path):
    folder = export_file(identity_file, [X], [KERAS_D], tmp_path / "program")
    ran = run_program(folder, tmp_path)
    assert ran.returncode == 1
    assert largest_relative_difference(ran.stdout) == pytest.approx(0.002 / 4.002, rel=1e-3)
    assert "over the check's tolerance 0.0001" in ran.stderr
    assert "passed by the check" not in ran.stdout


def test_an_output_within_the_tolerance_prints_no_note(identity_file, tmp_path):
    folder = export_file(identity_file, [X], None, tmp_path / "program")
    add_expected(folder, [X], [NOTE])  # a note on an output the program finds within it
    ran = run_program(folder, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert largest_relative_difference(ran.stdout) == 0.0
    assert "passed by the check" not in ran.stdout


# A real check that amplifies float32 rounding: Input(1000) → Dense a (kernel W) and Dense b
# (kernel W·(1 + 1e-3)), then Subtract(a, b) = −1e-3 · (x·W). Our matmul and Keras' sum 1000
# products in different orders: a and b differ from Keras' by float32 rounding (~1e-6 of
# their scale, within the tolerance 1e-5 set here), and the subtraction, exact on Keras' own
# a and b (one float32 subtraction each), leaves that rounding ~1000 times larger against
# its 1e-3-times smaller scale: over 1e-5 end to end.
AMPLIFIED_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def amplified_client(tmp_path_factory, warm_pool):
    folder = tmp_path_factory.mktemp("amplified")
    with warm_pool.client(folder, check_tolerance=AMPLIFIED_TOLERANCE) as client:
        yield client


def amplifying_file(folder):
    layers = keras.layers
    x = keras.Input((1000,))
    a, b = layers.Dense(16, name="a")(x), layers.Dense(16, name="b")(x)
    model = keras.Model(x, layers.Subtract(name="d")([a, b]))
    kernel = np.random.default_rng(0).normal(size=(1000, 16)).astype(np.float32)
    model.get_layer("a").set_weights([kernel, np.zeros(16, np.float32)])
    model.get_layer("b").set_weights([kernel * np.float32(1 + 1e-3), np.zeros(16, np.float32)])
    path = folder / "amplified.keras"
    model.save(path)
    return path


def test_the_program_of_a_check_passed_on_keras_inputs_agrees_with_it(amplified_client, tmp_path):
    report = post_file(amplified_client, amplifying_file(tmp_path)).json()
    check = report["check"]
    assert check["status"] == "passed", check
    (output,) = check["outputs"]
    # What the check found (not set here): d over the tolerance end to end, passed on Keras'
    # own inputs, a and b within it end to end.
    assert output["max_rel_error"] > AMPLIFIED_TOLERANCE and output["note"] is not None, check
    response = amplified_client.get(f"/api/v1/reports/{report['id']}/forward")
    assert response.status_code == 200, response.text
    folder = unzip(response.content, tmp_path / "zip")
    ran = run_program(folder, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert largest_relative_difference(ran.stdout) > AMPLIFIED_TOLERANCE
    assert "d: over the check's tolerance 1e-05 end to end, and passed by the check" in ran.stdout
    assert output["note"] in ran.stdout
