"""Every Keras 1 / Keras 2 / tf.keras file of ../shared/corpus/wild/keras2/ through the API.

The expected numbers are their writers': the MANIFEST's counts (`model.count_params()` in
tf_keras or Keras 3, or the element count of the stored weights) and the outputs tf_keras 2.21
or Keras 3.15.1 gave on the stored inputs. The files with tf.keras op layers (TFOpLambda,
SlicingOpLambda, TensorFlowOpLayer) have a module of their own.

Where Keras 3.15.1 loads a file only after our Keras 2 → 3 rewrites (app/check/keras3_copy.py),
the check must pass, and our reference's outputs must also equal what tf_keras (Keras 2
semantics) gave, except where the file uses `hard_sigmoid`, whose formula Keras 3 changed:
there the report must say so, naming the layer.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from app.analysis.reference import materialize_weights, run_reference
from app.analysis.resolve import resolve
from app.check.keras3_copy import sanitize
from app.cli import explain as cli_explain
from app.errors import ExplainerError
from app.formats import ReadLimits, read_model, read_spec_with_weights
from app.reference.activations import ACTIVATIONS
from tests.support.api import make_client, post_file
from tests.support.wild import WildModel, manifest

OP_LAYER_FILES = {
    "tfk2_4_0_deephedging_tfoplambda_slicing.hdf5",
    "tfk2_10_0_transformer_btc_tfoplambda.h5",
    "tfk2_10_0_transformer_tfoplambda.h5",
    "tfk2_10_0_transformer_tensorflowoplayer.h5",
}
ROWS = {m.file: m for m in manifest("keras2") if m.file not in OP_LAYER_FILES}

PAIRS = {  # spec: weights file (MANIFEST rows of the same stem)
    "k1_1_2_alikureishy_custom1_model.json": "k1_1_2_alikureishy_custom1_weights.hd5",
    "k1_2_0_datlife_merge_cnn.json": "k1_2_0_datlife_merge_cnn_weights.h5",
    "k2_1_1_masking_simplernn_music.json": "k2_1_1_masking_simplernn_music_weights.h5",
    "k2_3_1_cropping_avgpool_bn_model.json": "k2_3_1_cropping_avgpool_bn_weights.h5",
    "tfk2_4_0_trigger_word_gru_model.json": "tfk2_4_0_trigger_word_gru_weights.h5",
}
ALL_ROWS = {m.file: m for m in manifest("keras2")}

PASSES = {  # Keras 3.15.1 loads these, some after our Keras 1/2 → 3 rewrites: the check passes
    "k1_1_2_alikureishy_custom1_model.json",
    "k2_1_1_masking_simplernn_music.json",
    "k2_1_2_embedding_spatialdropout_lstm.h5",
    "k2_1_5_conv3d_autoencoder_lipreading.h5",
    "k2_2_0_seq2seq_decoder_3in3out.h5",
    "k2_2_4_bidirectional_lstm.h5",
    "tfk2_3_0_lstm_attention.h5",
    "k2_3_1_cropping_avgpool_bn_model.json",
    "k2_3_1_nested_models_3in.hdf5",
    "tfk2_4_0_trigger_word_gru_model.json",
    "tfk2_7_0_convlstm2d_timedistributed.h5",
    "tfk2_8_0_nested_sequential_gan.h5",
    "tfk2_8_0_siamese_shared_submodel.h5",
    "tfk2_12_0_multimodal_3in_globalmaxpool.h5",
    "tfk2_13_1_dense_classifier.keras",  # Windows backslash paths: neither Keras ran it
    "tfk2_13_1_prelu.h5",
    "tfk2_13_1_thresholded_relu.h5",  # Keras 3 has no ThresholdedReLU: run as ReLU(threshold)
    "tfk2_14_0_streaming_wakeword_depthwise.h5",
    "tfk2_15_0_conv1d_bn_arrhythmia.h5",
    "tfk2_18_0_tf_keras_nested_autoencoder.h5",
}
# channels_first convolutions and pooling: TensorFlow's CPU kernels run them only where it
# uses oneDNN (README, "What TensorFlow can run"); tf_keras could not predict them here either.
CPU_DEPENDENT = {"k2_0_2_hits_zeropad_leakyrelu.hdf5", "tfk2_1_6_eegnet_depthwise_separable.h5"}
REFUSED = {  # (check code, words its message must hold): what the file is, said truly
    "k1_1_1_carnd_lambda_iamfaisalkhan.h5": ("lambda-layer", "Lambda"),
    "k1_2_0_datlife_merge_cnn.json": ("lambda-layer", "Lambda"),
    "k2_2_0_cudnnlstm_multi_input.h5": ("unknown-layer", "CuDNNLSTM"),
    "tfk2_8_0_custom_l1dist_lstm.h5": ("unknown-layer", "L1Dist"),
}
WEIGHTS_ONLY = {name for name in ROWS if "_weights." in name}
HARD_SIGMOID = {  # file: its layers that use hard_sigmoid (MANIFEST; the wrapped one by path)
    "k2_1_2_embedding_spatialdropout_lstm.h5": ["lstm_1"],
    "k2_2_0_seq2seq_decoder_3in3out.h5": ["lstm_4"],
    "k2_2_4_bidirectional_lstm.h5": ["bidirectional_5/lstm_9"],
    "tfk2_7_0_convlstm2d_timedistributed.h5": ["conv_lstm2d_8", "conv_lstm2d_11"],
}
TOLERANCE = 1e-4  # relative to the output's largest magnitude, as the check's own


@pytest.fixture(scope="module")
def client(tmp_path_factory, warm_pool):
    with warm_pool.client(tmp_path_factory.mktemp("wild2")) as client:
        yield client


def test_every_row_has_an_expectation():
    expected = PASSES | CPU_DEPENDENT | set(REFUSED) | WEIGHTS_ONLY
    assert sorted(ROWS) == sorted(expected)


def _inputs(model: WildModel, flavour: str) -> dict:
    stored = model.stored("input", flavour)
    if stored is None:
        return {}
    buffer = io.BytesIO()
    if isinstance(stored, dict):
        np.savez(buffer, **stored)
        return {"files": {"inputs": ("x.npz", buffer.getvalue())}}
    np.save(buffer, stored)
    return {"files": {"inputs": ("x.npy", buffer.getvalue())}}


def _flavour(model: WildModel) -> str:
    return "" if model.keras3_loads else "tf_keras"


def _report(client, name: str) -> dict:
    """The report of a file; a spec goes with the weights file saved beside it."""
    model = ROWS[name]
    upload = _inputs(model, _flavour(model))
    if name in PAIRS:
        weights = ALL_ROWS[PAIRS[name]].path
        upload.setdefault("files", {})["weights"] = (weights.name, weights.read_bytes())
    response = post_file(client, model.path, **upload)
    assert response.status_code in (200, 201), response.json()  # 200: the same file again
    return response.json()


def _relative_error(got: np.ndarray, want: np.ndarray) -> float:
    """Largest difference over the output's largest magnitude (1 when that is below 1: an
    output of zeros, as a ReLU can give, is held to an absolute tolerance)."""
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1.0))


def _assert_counts(report: dict, model: WildModel) -> None:
    """The writer's counts; a Keras 1 spec's are its weights file's (the MANIFEST's)."""
    total = model.total if model.total is not None else ALL_ROWS[PAIRS[model.file]].total
    assert report["totals"]["params"] == total
    if model.non_trainable is not None:
        assert report["totals"]["non_trainable"] == model.non_trainable


@pytest.mark.parametrize("name", sorted(PASSES))
def test_check_wild_keras2_file_passes_with_its_writers_counts(client, name):
    report = _report(client, name)
    _assert_counts(report, ROWS[name])
    assert report["check"]["status"] == "passed", report["check"]


WITH_OUTPUTS = sorted(
    n for n in PASSES if n not in PAIRS and ROWS[n].stored("output", _flavour(ROWS[n])) is not None
)


@pytest.mark.parametrize("name", WITH_OUTPUTS)
def test_reference_of_wild_keras2_file_gives_its_writers_outputs(name, writers_semantics):
    """Our reader and forward on the stored input, against what the writer's Keras gave
    (tf_keras where Keras 3 refused the file as it is: Keras 2 semantics)."""
    model = ROWS[name]
    flavour = _flavour(model)
    stored_in, stored_out = model.stored("input", flavour), model.stored("output", flavour)
    with read_model(model.path, ReadLimits(isolate_hdf5=False)) as loaded:
        resolve(loaded.graph, weights_in_file=True)
        outputs = _run(loaded.graph, stored_in)
    _assert_outputs(name, outputs, stored_out)


def test_check_wild_thresholded_relu_runs_as_keras3s_relu_and_says_so(client):
    """tf.keras' ThresholdedReLU (theta 2.0), a class Keras 3 lacks, is run by Keras 3 as
    ReLU(threshold=2.0), and the check says so. The stored input stays below 2 (its output
    is all zeros): here an input across the threshold, 2.0 itself included, whose outputs
    are worked out by hand: x where x > 2, else 0."""
    model = ROWS["tfk2_13_1_thresholded_relu.h5"]
    x = 3 * model.stored("input", "tf_keras")
    x[0, :4] = [2.0, np.nextafter(np.float32(2), np.float32(3)), -2.0, 5.0]
    assert (x > 2).sum() >= 10
    buffer = io.BytesIO()
    np.save(buffer, x)
    response = post_file(client, model.path, files={"inputs": ("x.npy", buffer.getvalue())})
    assert response.status_code in (200, 201), response.json()
    check = response.json()["check"]
    assert check["status"] == "passed", check
    assert any(
        "thresholded_re_lu (ThresholdedReLU): class given as ReLU(threshold=2.0)" in note
        for note in check["notes"]
    )
    [output] = check["outputs"]
    by_hand = np.where(x > 2, x, 0)
    assert by_hand[0, 0] == 0 and by_hand[0, 1] > 2
    np.testing.assert_array_equal(np.asarray(output["reference"], np.float32), by_hand)
    np.testing.assert_array_equal(np.asarray(output["keras"], np.float32), by_hand)


@pytest.mark.parametrize("name", sorted(HARD_SIGMOID))
def test_report_wild_keras2_hard_sigmoid_names_each_layer(client, name):
    warnings = " ".join(str(w) for w in _report(client, name)["warnings"])
    assert "hard_sigmoid" in warnings
    for layer in HARD_SIGMOID[name]:
        assert layer in warnings


@pytest.mark.parametrize("name", sorted(CPU_DEPENDENT))
def test_check_wild_channels_first_passes_or_names_the_cpu_limit(client, name):
    model = ROWS[name]
    report = _report(client, name)
    _assert_counts(report, model)
    check = report["check"]
    if check["status"] != "passed":
        assert (check["status"], check["code"]) == ("unsupported", "keras-cpu-unsupported")
        assert "channels_first" in check["message"]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_check_wild_keras2_file_refused_says_why(client, name):
    model = ROWS[name]
    report = _report(client, name)
    _assert_counts(report, model)
    code, words = REFUSED[name]
    check = report["check"]
    assert (check["status"], check["code"]) == ("refused", code)
    assert words in check["message"]


@pytest.mark.parametrize("name", sorted(WEIGHTS_ONLY))
def test_upload_wild_weights_only_file_alone_says_it_holds_weights_only(client, name):
    response = post_file(client, ROWS[name].path, params={"check": "false"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "malformed-model"
    assert "weights only" in body["message"]


# What users upload that is no Keras model: other frameworks' files, built here from their
# real layouts (magic bytes, member names), each named for what it is.


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# torch.save since 1.6: a zip with <name>/data.pkl, data/0, version, byteorder.
TORCH_ZIP = _zip(
    {
        "archive/data.pkl": b"\x80\x02}q\x00.",
        "archive/byteorder": b"little",
        "archive/data/0": b"\x00" * 16,
        "archive/version": b"3\n",
    }
)
# torch.save before 1.6: pickle protocol 2 (a dict), then the storages.
TORCH_PICKLE = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19.\x80\x02M\xe9\x03."
# ModelProto: ir_version 7 (08 07), producer_name "pytorch" (12 07 ...), graph (3a ...).
ONNX = b"\x08\x07\x12\x07pytorch\x1a\x031.9:\x02\x0a\x00B\x04\n\x00\x10\x0b"
# ir_version 1 opens as a SavedModel does (08 01 12); its field 2 is text, producer_name.
ONNX_IR_1 = b"\x08\x01\x12\x07tf2onnx\x1a\x061.16.1:\x02\x0a\x00"
# The head of the saved_model.pb TensorFlow 2.21 wrote for `model.export()`: schema version 1
# (08 01), a MetaGraphDef of 21,849 bytes (12 d9 aa 01), its meta_info_def (0a d6 0e), whose
# stripped_op_list (12 a6 0e) starts with the OpDef of AssignVariableOp.
SAVED_MODEL_PB = (
    b"\x08\x01\x12\xd9\xaa\x01\x0a\xd6\x0e\x12\xa6\x0e\x0a\x5e\x0a\x10AssignVariableOp"
    + b"\x12\x0c\x0a\x08resource\x18\x14"
)
# A FlatBuffer: root table offset (4 bytes), then the file identifier TFL3.
TFLITE = b"\x1c\x00\x00\x00TFL3" + b"\x00" * 56
SAVED_MODEL_ZIP = _zip(
    {
        "my_model/saved_model.pb": b"\x08\x01\x12\x00",
        "my_model/variables/variables.index": b"\x00",
        "my_model/keras_metadata.pb": b"\x00",
    }
)
FOREIGN = {  # upload name, bytes, words the sentence must hold
    "pytorch-zip-named-h5": ("model.h5", TORCH_ZIP, "PyTorch"),
    "pytorch-zip-named-keras": ("model.keras", TORCH_ZIP, "PyTorch"),
    "pytorch-pickle": ("model.pt", TORCH_PICKLE, "PyTorch"),
    "onnx": ("model.onnx", ONNX, "ONNX"),
    "onnx-ir-version-1": ("model.onnx", ONNX_IR_1, "ONNX"),
    "tflite": ("model.tflite", TFLITE, "TensorFlow Lite"),
    "saved-model-zip": ("saved_model.zip", SAVED_MODEL_ZIP, "SavedModel"),
    "saved-model-pb": ("saved_model.pb", SAVED_MODEL_PB, "SavedModel's saved_model.pb"),
}


@pytest.fixture(scope="module")
def no_check_client(tmp_path_factory):
    with make_client(tmp_path_factory.mktemp("foreign")) as client:
        yield client


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_upload_other_framework_file_is_415_naming_it(no_check_client, kind):
    name, data, words = FOREIGN[kind]
    response = no_check_client.post(
        "/api/v1/reports", files={"file": (name, data)}, params={"check": "false"}
    )
    assert response.status_code == 415
    body = response.json()
    assert body["code"] == "unsupported-format"
    assert words in body["message"]
    assert "not a Keras model" in body["message"]
    saved_model = "SavedModel" in words
    assert ("tf_keras.models.load_model('folder')" in body["message"]) == saved_model


# A spec and the weights-only file saved beside it (`save_weights`), as users keep them: read
# together by our readers, the counts are the writer's and, where tf_keras ran the pair, our
# reference forward gives tf_keras' outputs from the stored weights.


def _read_pair(spec: str):
    weights = ALL_ROWS[PAIRS[spec]]
    text = ALL_ROWS[spec].path.read_text()
    loaded = read_spec_with_weights(text, weights.path, ReadLimits(isolate_hdf5=False))
    resolve(loaded.graph, weights_in_file=True)
    return loaded


@pytest.mark.parametrize("spec", sorted(PAIRS))
def test_read_spec_with_its_weights_file_counts_every_stored_array(spec):
    with _read_pair(spec) as loaded:
        weights = [w for _, node in loaded.graph.walk() for w in node.weights]
        assert sum(w.count for w in weights) == ALL_ROWS[PAIRS[spec]].total
        spec_row = ALL_ROWS[spec]
        if spec_row.non_trainable is not None:
            assert sum(w.count for w in weights if not w.trainable) == spec_row.non_trainable


@pytest.mark.parametrize("spec", sorted(s for s in PAIRS if ALL_ROWS[s].tf_keras_loads))
def test_reference_of_spec_with_weights_gives_tf_keras_outputs(spec):
    model = ALL_ROWS[spec]
    stored_in = model.stored("input", "tf_keras")
    stored_out = model.stored("output", "tf_keras")
    with _read_pair(spec) as loaded:
        outputs = _run(loaded.graph, stored_in)
    _assert_outputs(spec, outputs, stored_out)


def _run(graph, stored_in) -> list[np.ndarray]:
    names = [ref.layer for ref in graph.inputs]
    inputs = [stored_in[n] for n in names] if isinstance(stored_in, dict) else [stored_in]
    return run_reference(graph, materialize_weights(graph, 0), inputs, training=False).outputs


def _assert_outputs(name: str, outputs: list, stored_out) -> None:
    """Each output against the writer's, in the model's output order."""
    expected = list(stored_out.values()) if isinstance(stored_out, dict) else [stored_out]
    assert len(outputs) == len(expected)
    for i, (got, want) in enumerate(zip(outputs, expected, strict=True)):
        error = _relative_error(np.asarray(got, dtype=np.float64), want)
        assert error <= TOLERANCE, (i, error)


def keras2_hard_sigmoid(x: np.ndarray) -> np.ndarray:
    """Keras 2's formula (keras 2.x backend): clip(0.2 · x + 0.5, 0, 1)."""
    return np.clip(x * np.float32(0.2) + np.float32(0.5), 0, 1).astype(x.dtype)


@pytest.fixture
def writers_semantics(monkeypatch, request):
    """For a file whose writer computed hard_sigmoid with Keras 2's formula (the report
    warns of it), our forward computes it so too, so the rest is held to the tolerance."""
    if request.node.callspec.params.get("name") in HARD_SIGMOID:
        monkeypatch.setitem(ACTIVATIONS, "hard_sigmoid", keras2_hard_sigmoid)


def test_read_spec_with_weights_of_another_model_is_a_weight_mismatch():
    spec = ALL_ROWS["k2_3_1_cropping_avgpool_bn_model.json"].path.read_text()
    other = ALL_ROWS["k2_1_1_masking_simplernn_music_weights.h5"].path
    with pytest.raises(ExplainerError) as raised:
        with read_spec_with_weights(spec, other, ReadLimits(isolate_hdf5=False)) as loaded:
            resolve(loaded.graph, weights_in_file=True)
    assert raised.value.status // 100 == 4
    assert raised.value.code in ("weight-mismatch", "malformed-model")


# The same pairs through the API (`weights` beside the spec), the Keras 1 ones included, and
# the Keras 3 pair of wild/keras3 (a `.weights.h5` from save_weights).

KERAS3_SPEC = {m.file: m for m in manifest("keras3")}["delladeldel_cnn_lstm_model_structure.json"]
KERAS3_WEIGHTS = KERAS3_SPEC.path.with_name("delladeldel_cnn_lstm_model_structure.weights.h5")


def _post_pair(client, spec: Path, weights: Path, **kwargs):
    files = {"weights": (weights.name, weights.read_bytes())}
    return post_file(client, spec, files=files, **kwargs)


def test_check_keras3_spec_with_its_weights_h5_passes_with_its_writers_counts(client):
    response = _post_pair(client, KERAS3_SPEC.path, KERAS3_WEIGHTS)
    assert response.status_code in (200, 201)
    report = response.json()
    assert report["totals"]["params"] == KERAS3_SPEC.total
    assert report["check"]["status"] == "passed", report["check"]


def test_report_keras1_spec_alone_counts_what_its_weights_file_stores(client):
    """Keras 1's keys (nb_filter, nb_row, border_mode, output_dim, ...) read in Keras 2's
    words: the counts worked out from the spec alone are the arrays save_weights wrote."""
    spec = ALL_ROWS["k1_1_2_alikureishy_custom1_model.json"].path
    response = post_file(client, spec, params={"check": "false"})
    assert response.status_code in (200, 201), response.json()
    totals = response.json()["totals"]
    assert totals["params"] == ALL_ROWS["k1_1_2_alikureishy_custom1_weights.hd5"].total


def test_report_keras1_bn_mode_2_says_it_used_batch_statistics(client):
    spec = ALL_ROWS["k1_2_0_datlife_merge_cnn.json"].path
    weights = ALL_ROWS["k1_2_0_datlife_merge_cnn_weights.h5"].path
    report = _post_pair(client, spec, weights).json()
    assert report["totals"]["params"] == ALL_ROWS[weights.name].total
    # 13 BatchNormalization layers: their running_mean and running_std, 598 values in the
    # file, are moving statistics, never trained.
    assert report["totals"]["non_trainable"] == 598
    assert (report["check"]["status"], report["check"]["code"]) == ("refused", "lambda-layer")
    warning = next(w for w in report["warnings"] if "mode=2" in str(w))
    assert "bn0" in str(warning)


def test_upload_spec_with_weights_of_another_model_is_a_4xx(client):
    spec = ALL_ROWS["k2_3_1_cropping_avgpool_bn_model.json"].path
    weights = ALL_ROWS["k2_1_1_masking_simplernn_music_weights.h5"].path
    response = _post_pair(client, spec, weights, params={"check": "false"})
    assert response.status_code == 422, response.json()
    assert response.json()["code"] == "weight-mismatch"


def test_upload_weights_beside_a_full_model_file_is_invalid_request(client):
    model = ALL_ROWS["tfk2_13_1_prelu.h5"].path
    weights = ALL_ROWS["k2_1_1_masking_simplernn_music_weights.h5"].path
    response = _post_pair(client, model, weights, params={"check": "false"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid-request"
    assert "holds its weights already" in body["message"]


def test_cli_inspect_spec_with_weights_gives_the_writers_counts():
    spec = ALL_ROWS["k2_3_1_cropping_avgpool_bn_model.json"]
    weights = ALL_ROWS["k2_3_1_cropping_avgpool_bn_weights.h5"].path
    report = cli_explain(spec.path, weights=weights)
    assert report.totals.params == spec.total
    assert report.totals.non_trainable == spec.non_trainable
    assert weights.exists() and not list(weights.parent.glob("*model-with-weights*"))


def test_keras3_copy_leaves_out_multi_head_attention_build_shapes():
    """tf.keras ≥ 2.10 (the transformer files of wild/keras2) wrote the shapes a
    MultiHeadAttention was built with; Keras 3 refuses them and builds from the call."""
    shapes = {key: [None, 50, 5] for key in ("query_shape", "key_shape", "value_shape")}
    config = {"name": "mha", "num_heads": 2, **shapes}
    layer = {"class_name": "MultiHeadAttention", "config": config}
    config, removed, blockers = sanitize({"name": "model", "layers": [layer]})
    assert blockers == []
    assert sorted(r.key for r in removed) == ["key_shape", "query_shape", "value_shape"]
    assert config["layers"][0]["config"] == {"name": "mha", "num_heads": 2}
