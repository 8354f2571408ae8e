"""tf.keras op layers in real files: TFOpLambda, SlicingOpLambda, TensorFlowOpLayer.

Keras 3 loads none of these files (MANIFEST.md, ../shared/corpus/wild/keras2). The expected
numbers are the writers' and tf_keras': the counts in the MANIFEST, the outputs tf_keras gave
on the stored inputs. Our reference must give the same outputs, and the check must say in
words why Keras was not asked, showing our outputs all the same.
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from app.analysis.reference import materialize_weights, run_reference
from app.analysis.resolve import resolve
from app.check.admission import CheckSettings
from app.formats import read_model
from app.formats.config import parse_model
from app.reference import run_layer
from tests.support.api import npy_upload, post_file
from tests.support.wild import WildModel, manifest

TOLERANCE = CheckSettings().tolerance  # the check's: max |Δ| / max |tf_keras output|
ROWS = {row.file: row for row in manifest("keras2")}
DEEPHEDGING = ROWS["tfk2_4_0_deephedging_tfoplambda_slicing.hdf5"]
TRANSFORMER = ROWS["tfk2_10_0_transformer_tfoplambda.h5"]
TRANSFORMER_BTC = ROWS["tfk2_10_0_transformer_btc_tfoplambda.h5"]
NODE_DEF_FILE = ROWS["tfk2_10_0_transformer_tensorflowoplayer.h5"]
RUNNABLE = [DEEPHEDGING, TRANSFORMER, TRANSFORMER_BTC]
# What the MANIFEST counts of each file's op layers (its "Layer classes" column).
OP_LAYERS = {
    DEEPHEDGING.file: "SlicingOpLambda ×17, TFOpLambda ×72",
    TRANSFORMER.file: "TFOpLambda ×5",
    TRANSFORMER_BTC.file: "TFOpLambda ×2",
}


def _relative_error(ours: np.ndarray, theirs: np.ndarray) -> float:
    scale = max(float(np.max(np.abs(theirs))), 1e-6)
    return float(np.max(np.abs(ours.astype(np.float64) - theirs))) / scale


def _config(row: WildModel) -> dict:
    with h5py.File(row.path, "r") as h5:
        return json.loads(h5.attrs["model_config"])


def test_the_manifest_rows_say_keras3_refuses_and_tf_keras_loads():
    for row in RUNNABLE:
        assert (row.keras3_loads, row.tf_keras_loads) == (False, True), row
    assert (NODE_DEF_FILE.keras3_loads, NODE_DEF_FILE.tf_keras_loads) == (False, False)


@pytest.mark.parametrize("row", RUNNABLE, ids=str)
def test_op_layer_file_totals_equal_the_manifest(row: WildModel):
    with read_model(row.path) as loaded:
        resolve(loaded.graph, weights_in_file=True)
        weights = [w for _, node in loaded.graph.walk() for w in node.weights]
        assert loaded.refusals == []
    assert sum(w.count for w in weights) == row.total
    assert sum(w.count for w in weights if not w.trainable) == row.non_trainable


@pytest.mark.parametrize("row", RUNNABLE, ids=str)
def test_op_layer_file_reference_gives_tf_keras_output(row: WildModel):
    x, expected = row.stored("input", "tf_keras"), row.stored("output", "tf_keras")
    with read_model(row.path) as loaded:
        graph = loaded.graph
        resolve(graph, weights_in_file=True)
        run = run_reference(graph, materialize_weights(graph), [x], keep_all=False)
    [ours] = run.outputs
    assert ours.shape == expected.shape and ours.dtype == np.float32
    assert _relative_error(ours, expected) <= TOLERANCE


def test_deephedging_op_layers_read_with_their_arguments():
    """`0.205 * ones_like(...)` is written with the constant first (`_CONSTANT_VALUE`) and the
    tensor as the keyword `y`; a slice as `slice_spec` dicts; concat's values as a list."""
    graph = parse_model(_config(DEEPHEDGING))
    multiply = graph.layer("tf.math.multiply_32")
    assert multiply.config["call_args"] == [0.20498785376548767]
    assert multiply.config["call_kwargs"] == {"y": {"tensor": 0}, "name": None}
    assert [ref.layer for ref in multiply.calls[0]] == ["tf.ones_like_1"]
    getitem = graph.layer("tf.__operators__.getitem_32")
    spec = [{"start": None, "stop": None, "step": None}, {"start": -2, "stop": -1, "step": None}]
    assert getitem.config["call_kwargs"] == {"slice_spec": spec}
    concat = graph.layer("tf.concat_9")
    assert concat.config["call_args"] == [[{"tensor": i} for i in range(6)]]
    assert concat.config["call_kwargs"] == {"axis": 1}
    assert len(concat.calls[0]) == 6


def test_deephedging_nested_models_are_called_from_their_first_saved_call():
    """`["model_6", 1, 0]` is the first call the config saves of the nested model (Keras never
    saves the node that built it): its one call, read as call 0."""
    graph = parse_model(_config(DEEPHEDGING))
    abs_3 = graph.layer("tf.math.abs_3")
    assert [(r.layer, r.node_index, r.tensor_index) for r in abs_3.calls[0]] == [("model_6", 0, 0)]
    assert len(graph.layer("model_6").calls) == 1


def test_tensorflow_op_layer_file_reads_its_nodedef_adds():
    """Saved with eager execution off: each `x + res` is a TensorFlowOpLayer whose NodeDef op
    is AddV2, named `tf_op_layer_<name>`; its two inputs are added."""
    graph = parse_model(_config(NODE_DEF_FILE))
    resolve(graph, weights_in_file=False)
    ops = [n for _, n in graph.walk() if n.class_name == "TensorFlowOpLayer"]
    assert len(ops) == 8
    add = graph.layer("tf_op_layer_add_162")
    assert [r.layer for r in add.calls[0]] == ["conv1d_196", "tf_op_layer_add_161"]
    assert add.output_shapes == [(None, 50, 5)]
    a, b = np.float32([[1.5, -2.0]]), np.float32([[0.25, 4.0]])
    np.testing.assert_array_equal(run_layer(add.class_name, add.config, {}, [a, b]), [[1.75, 2.0]])


@pytest.fixture(scope="module")
def client(tmp_path_factory, warm_pool):
    with warm_pool.client(tmp_path_factory.mktemp("op_layers")) as client:
        yield client


@pytest.mark.parametrize("row", RUNNABLE, ids=str)
def test_check_of_op_layer_file_is_unsupported_and_shows_our_outputs(client, row: WildModel):
    x, expected = row.stored("input", "tf_keras"), row.stored("output", "tf_keras")
    response = post_file(client, row.path, files={"inputs": npy_upload(x)})
    assert response.status_code == 201, response.text
    check = response.json()["check"]
    assert (check["status"], check["code"]) == ("unsupported", "keras3-op-layers"), check
    assert f"tf.keras op layers ({OP_LAYERS[row.file]})" in check["message"]
    assert "Keras 3 cannot load" in check["message"]
    assert check["inputs"]["source"] == "caller"
    [output] = check["outputs"]
    assert output["keras"] is None
    ours = np.asarray(output["reference"], dtype=np.float32)
    assert _relative_error(ours, expected) <= TOLERANCE


def test_check_of_op_layer_file_with_seeded_inputs_shows_our_outputs(client):
    response = post_file(client, TRANSFORMER_BTC.path)
    check = response.json()["check"]
    assert (check["status"], check["code"]) == ("unsupported", "keras3-op-layers"), check
    [output] = check["outputs"]
    assert output["shape"] == [2, 15] and len(output["reference"]) == 2


def test_check_of_op_layer_spec_is_unsupported_and_shows_our_outputs(client):
    """The same model as a spec (model.to_json()): no weights, so seeded ones; Keras is not
    asked, and our outputs are shown."""
    response = client.post(
        "/api/v1/reports", json={"spec": _config(TRANSFORMER_BTC)}, params={"wait": "true"}
    )
    assert response.status_code == 201, response.text
    check = response.json()["check"]
    assert (check["status"], check["code"]) == ("unsupported", "keras3-op-layers"), check
    [output] = check["outputs"]
    assert output["shape"] == [2, 15] and np.all(np.isfinite(output["reference"]))


def test_tensorflow_op_layer_file_is_explained_and_says_its_weights_were_not_saved(client):
    """Its weights section stops short (MANIFEST: no MultiHeadAttention group, 277 stored
    values): the model is explained from its config, the layers without weights are named,
    and the check says why it cannot run, instead of refusing the file."""
    response = post_file(client, NODE_DEF_FILE.path)
    assert response.status_code == 201, response.text
    report = response.json()
    # By hand from the config: MultiHeadAttention (2 heads, key_dim 64, on 5 features)
    # 3 × (5·2·64 + 2·64) + 2·64·5 + 5 = 2,949, four of them; LayerNormalization 2·5, eight;
    # Conv1D 1·5·4 + 4 and 1·4·5 + 5, four pairs; Dense 50 + 1.
    assert report["totals"]["params"] == 4 * 2949 + 8 * 10 + 4 * (24 + 25) + 51 == 12123
    stored = sum(w["count"] for layer in report["layers"] for w in layer["weights"] if w["stats"])
    assert stored == NODE_DEF_FILE.total == 277
    unsaved = [w for w in report["warnings"] if "stores none of its" in w]
    assert len(unsaved) == 9 and unsaved[0].startswith("multi_head_attention_66:")
    check = report["check"]
    assert (check["status"], check["code"]) == ("unsupported", "weights-not-saved"), check
    assert "9 layers (multi_head_attention_66, multi_head_attention_67" in check["message"]
    assert "incomplete" in check["message"]
