"""A Keras 3.15 model whose Functional graph applies array operations (`x[:, 1:]`,
`ops.reshape`, `ops.transpose`, `ops.concatenate`, ...), uploaded as `.keras`: the check
hands it to Keras and every layer matches. Before, the check was refused (`unknown-layer`:
"The operation `ops.GetItem` is not one the explainer knows"). Its `.h5` save is read and
run by the reference."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.reference import materialize_weights, run_reference
from app.analysis.resolve import resolve
from app.formats import read_model
from tests.support.api import post_file
from tests.support.kerasref import keras
from tests.support.models import randomize_weights

ops = keras.ops
layers = keras.layers
OPERATIONS = {
    "ops.GetItem", "ops.Reshape", "ops.Transpose", "ops.ExpandDims", "ops.Squeeze",
    "ops.Concatenate", "ops.Stack", "ops.Tile", "ops.Repeat", "ops.Pad", "ops.Flip", "ops.Take",
    "ops.Split",
}  # fmt: skip


def array_operations_model():
    """(N, 3, 4) → Dense(4) → every array operation → Dense(2): each node's shape is checked
    by the Dense that follows, and a wrong element order changes the output."""
    x = keras.Input((3, 4))
    h = layers.Dense(4, name="embed")(x)
    first = h[:, 1:, ::-1]  # (N, 2, 4)
    joined = ops.concatenate([first, ops.flip(h[:, :2], axis=1)], axis=-1)  # (N, 2, 8)
    turned = ops.transpose(ops.reshape(joined, (-1, 4, 4)), (0, 2, 1))  # (N, 4, 4)
    stacked = ops.stack([turned, ops.tile(h[:, None, 0], (1, 4, 1))], axis=1)  # (N, 2, 4, 4)
    picked = ops.take(stacked, [1, 0, -1], axis=2)[..., 1:]  # (N, 2, 3, 3)
    grown = ops.repeat(
        ops.pad(picked, ((0, 0), (0, 0), (1, 0), (0, 1)), constant_values=0.5), 2, axis=1
    )
    squeezed = ops.squeeze(ops.expand_dims(grown, 2), 2)  # (N, 4, 4, 4)
    top, rest = ops.split(squeezed, [1], axis=1)  # (N, 1, 4, 4), (N, 3, 4, 4)
    rolled = ops.concatenate([rest, top], axis=1)  # (N, 4, 4, 4)
    return randomize_weights(keras.Model(x, layers.Dense(2, name="head")(rolled)))


@pytest.fixture(scope="module")
def client(tmp_path_factory, warm_pool):
    with warm_pool.client(tmp_path_factory.mktemp("array-ops")) as client:
        yield client


def test_check_of_a_model_with_array_operations_passes(client, tmp_path):
    path = tmp_path / "array_ops.keras"
    array_operations_model().save(path)
    response = post_file(client, path)
    assert response.status_code == 201, response.json()
    check = response.json()["check"]
    assert check["status"] == "passed", check
    assert [(layer["name"], layer["verdict"]) for layer in check["layers"]] == [
        ("embed", "passed"),
        ("head", "passed"),
    ]


def test_keras3_h5_with_array_operations_is_explained_and_run_by_the_reference(tmp_path):
    """Keras 3 writes operations to `.h5` without their module; the reader names them by
    their config (`operation_name`), and the reference runs them as the model does."""
    model = array_operations_model()
    model.save(tmp_path / "array_ops.h5")
    with read_model(tmp_path / "array_ops.h5") as loaded:
        graph = loaded.graph
        resolve(graph, weights_in_file=True)
        weights = materialize_weights(graph)
    # Keras' own `.h5` loader reads the operation Concatenate as the layer: so does the reader
    assert {n.class_name for n in graph.layers if n.is_operation} == OPERATIONS - {
        "ops.Concatenate"
    }
    assert "Concatenate" in {n.class_name for n in graph.keras_layers()}
    x = np.random.default_rng(3).normal(size=(2, 3, 4)).astype("float32")
    [ours] = run_reference(graph, weights, [x]).outputs
    np.testing.assert_allclose(ours, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_keras3_h5_check_says_keras_cannot_load_it(client, tmp_path):
    """Keras 3.15.1's own `load_model` fails on the `.h5` it wrote with operations in it
    (`Unknown layer: 'GetItem'`): the check says Keras could not load the file; it no
    longer refuses the operations as unknown."""
    path = tmp_path / "array_ops.h5"
    array_operations_model().save(path)
    with pytest.raises(ValueError, match="GetItem"):
        keras.models.load_model(path)
    response = post_file(client, path)
    assert response.status_code == 201, response.json()
    check = response.json()["check"]
    assert (check["status"], check["code"]) == ("unsupported", "keras-load-failed")
