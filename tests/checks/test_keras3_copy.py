"""The Keras 3 copy of a Keras 2 file is written by the check's reference side, so the
serving process never opens an upload's HDF5, even when Keras needs that copy."""

from __future__ import annotations

import h5py
import numpy as np

from tests.support.api import make_client
from tests.support.files import as_keras2_file
from tests.support.kerasref import keras


def test_keras2_copy_is_written_outside_the_serving_process(tmp_path, monkeypatch):
    model = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.DepthwiseConv2D(3)])
    model.set_weights([np.full(w.shape, 0.5, "float32") for w in model.weights])

    def add_groups(layer):
        if layer["class_name"] == "DepthwiseConv2D":
            layer["config"]["groups"] = 1

    path = as_keras2_file(model, tmp_path / "k2.h5", add_groups)
    opened = []
    original = h5py.File

    def spy(name, *args, **kwargs):
        opened.append(str(name))
        return original(name, *args, **kwargs)

    with make_client(tmp_path / "data", workers=1) as client:
        monkeypatch.setattr(h5py, "File", spy)  # this process is the server's
        with path.open("rb") as fh:
            response = client.post(
                "/api/v1/reports", files={"file": (path.name, fh)}, params={"wait": "true"}
            )
    assert response.status_code == 201
    check = response.json()["check"]
    assert check["status"] == "passed", check
    assert any("groups=1" in note for note in check["notes"])
    assert opened == []
