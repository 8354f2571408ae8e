"""A model TensorFlow cannot run on the server's CPU: the check says so, and still shows ours.

Whether TensorFlow runs a channels-first Conv2D depends on the CPU: its oneDNN kernels (its
default on newer x86 CPUs) do, its own kernels do not. The workers here run with
`TF_ENABLE_ONEDNN_OPTS=0`, TensorFlow's switch for its oneDNN kernels, so every machine takes
the path an AVX2-only CPU takes by default, and the test is the same everywhere.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.check.keras import process
from tests.reference.harness import TOLERANCE
from tests.support import kerasref
from tests.support.api import make_client, npy_upload, post_file
from tests.support.kerasref import keras
from tests.support.models import randomize_weights

layers = keras.layers


@pytest.fixture(scope="module")
def own_kernels_client(tmp_path_factory):
    """An app whose Keras workers use TensorFlow's own CPU kernels, never oneDNN's."""
    with pytest.MonkeyPatch.context() as patch:
        original = process.worker_env
        patch.setattr(
            process, "worker_env", lambda home: {**original(home), "TF_ENABLE_ONEDNN_OPTS": "0"}
        )
        with make_client(tmp_path_factory.mktemp("cpu"), workers=1) as client:
            yield client


def channels_first_model():
    return randomize_weights(
        keras.Sequential(
            [
                keras.Input((3, 7, 6)),
                layers.Conv2D(4, 3, activation="relu", data_format="channels_first", name="cf"),
                layers.GlobalAveragePooling2D(data_format="channels_first", name="pool"),
            ]
        )
    )


def test_check_of_a_model_tensorflow_cannot_run_here_is_unsupported_with_our_outputs(
    own_kernels_client, tmp_path
):
    model = channels_first_model()
    path = tmp_path / "cf.keras"
    model.save(path)
    x = np.random.default_rng(7).normal(size=(2, 3, 7, 6)).astype("float32")
    response = post_file(own_kernels_client, path, files={"inputs": npy_upload(x)})
    assert response.status_code == 201
    check = response.json()["check"]
    assert (check["status"], check["code"]) == ("unsupported", "keras-cpu-unsupported"), check
    assert check["message"].startswith(
        "TensorFlow cannot run layer cf (Conv2D), which is channels_first, on this server's "
        "CPU: its CPU kernel for Conv2D takes channels-last data only."
    )
    assert check["details"]["reason"] == {
        "kind": "cpu-unsupported",
        "op": "Conv2D",
        "limit": "channels-first",
        "layers": ["cf"],
    }
    [output] = check["outputs"]
    assert output["keras"] is None
    conv, pool = model.layers
    expected = keras.ops.convert_to_numpy(pool(kerasref.call(conv, x)))
    np.testing.assert_allclose(output["reference"], expected, **TOLERANCE)
