"""The model-level reference forward against Keras: every layer, call by call, from files
Keras wrote (.keras and .h5), from specs, and from the corpus."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.reference import materialize_weights, run_reference
from app.analysis.resolve import resolve
from app.errors import InvalidRequest, UnsupportedModel
from app.formats import read_model, read_spec
from app.graph import LayerNode, ModelGraph, TensorRef
from tests.analysis.keras_models import (
    BUILDERS,
    as_arg,
    build,
    inputs_for,
    keras_layer_outputs,
)
from tests.support.kerasref import keras
from tests.support.models import SEED_INPUT, seed_spec

# float32 arithmetic, layer after layer: error within 1e-5 of the output's scale (absolute
# for outputs of order 1 or less).
TOLERANCE = 1e-5


def assert_close(ours: np.ndarray, theirs: np.ndarray, where: str) -> None:
    assert ours.shape == theirs.shape, where
    assert ours.dtype == theirs.dtype, where
    scale = max(1.0, float(np.abs(theirs).max(initial=0.0)))
    error = float(np.abs(ours - theirs).max(initial=0.0))
    assert error <= TOLERANCE * scale, f"{where}: max error {error:.3g}, scale {scale:.3g}"


def assert_layers_match(ours: dict, theirs: dict) -> None:
    assert list(ours) == list(theirs)
    for name, calls in theirs.items():
        assert len(ours[name]) == len(calls), name
        for call, (mine, expected) in enumerate(zip(ours[name], calls, strict=True)):
            assert len(mine) == len(expected), (name, call)
            for i, (a, b) in enumerate(zip(mine, expected, strict=True)):
                assert_close(a, b, f"{name} call {call} output {i}")


def run_file(path, inputs, training=False, keep_all=True):
    with read_model(path) as loaded:
        resolve(loaded.graph, weights_in_file=True)
        weights = materialize_weights(loaded.graph)
        return weights, run_reference(
            loaded.graph, weights, inputs, training=training, keep_all=keep_all
        )


@pytest.fixture(scope="module")
def keras_side():
    """`keras_side(name)`: the model, its inputs, and what Keras gives for them (every layer's
    outputs, then `predict`), worked out once per model for its .keras and .h5 tests."""
    found = {}

    def of(name: str):
        if name not in found:
            model = build(name)
            inputs = inputs_for(model)
            layers = keras_layer_outputs(model, inputs)
            predicted = model.predict(as_arg(inputs), batch_size=3, verbose=0)
            predicted = predicted if isinstance(predicted, list) else [predicted]
            found[name] = model, inputs, layers, predicted
        return found[name]

    return of


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_run_reference_matches_keras_layer_by_layer(name, suffix, tmp_path, keras_side):
    model, inputs, layers, predicted = keras_side(name)
    model.save(tmp_path / f"model{suffix}")
    weights, ours = run_file(tmp_path / f"model{suffix}", inputs)
    for mine, theirs in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)  # the stored values, in get_weights() order
    assert_layers_match(ours.layers, layers)
    for i, (mine, theirs) in enumerate(zip(ours.outputs, predicted, strict=True)):
        assert_close(mine, theirs, f"model output {i}")


@pytest.mark.parametrize("name", ["conv_bn", "sequential_in_functional", "branches"])
def test_run_reference_in_training_mode_matches_keras(name, tmp_path):
    model = build(name)
    model.save(tmp_path / "model.keras")
    inputs = inputs_for(model)
    _, ours = run_file(tmp_path / "model.keras", inputs, training=True)
    assert_layers_match(ours.layers, keras_layer_outputs(model, inputs, training=True))
    _, inference = run_file(tmp_path / "model.keras", inputs)
    assert not np.allclose(ours.outputs[0], inference.outputs[0])  # batch statistics differ


@pytest.mark.parametrize("name", ["multi_io", "masked_text", "shared"])
def test_lean_run_gives_the_same_outputs_and_keeps_no_layer(name, tmp_path):
    model = build(name)
    model.save(tmp_path / "model.keras")
    inputs = inputs_for(model)
    _, full = run_file(tmp_path / "model.keras", inputs)
    _, lean = run_file(tmp_path / "model.keras", inputs, keep_all=False)
    assert lean.layers == {}
    for a, b in zip(lean.outputs, full.outputs, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["masked_text", "branches", "multi_io"])
def test_spec_runs_with_materialized_weights_like_keras(name):
    """The spec path: our initial weights, set into Keras' model_from_json by position, give
    the same outputs — which also checks their get_weights() order and shapes."""
    model = build(name)
    with read_spec(model.to_json()) as loaded:
        resolve(loaded.graph, weights_in_file=False)
        weights = materialize_weights(loaded.graph, seed=3)
        inputs = inputs_for(model)
        ours = run_reference(loaded.graph, weights, inputs)
    rebuilt = keras.models.model_from_json(model.to_json())
    rebuilt.set_weights(weights)
    assert_layers_match(ours.layers, keras_layer_outputs(rebuilt, inputs))


@pytest.mark.parametrize("training", [False, True])
def test_seed_question_batch_normalization_fresh_spec(training):
    with read_spec(seed_spec()) as loaded:
        resolve(loaded.graph, weights_in_file=False)
        weights = materialize_weights(loaded.graph)
        ours = run_reference(loaded.graph, weights, [SEED_INPUT], training=training).outputs[0]
    ones, zeros = np.ones(2, np.float32), np.zeros(2, np.float32)
    for mine, fresh in zip(weights, [ones, zeros, zeros, ones], strict=True):
        np.testing.assert_array_equal(mine, fresh)  # gamma, beta, moving_mean, moving_variance
    x = SEED_INPUT.astype(np.float64)  # the expected numbers in float64, on purpose
    if training:  # batch statistics: mean [1, 2], variance [1, 1]
        expected = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 0.001)
        stated = [[-0.9995, -0.9995], [0.9995, 0.9995]]
    else:  # moving statistics 0 and 1: x / √1.001
        expected = x / np.sqrt(1.0 + 0.001)
        stated = [[0.0, 0.9995004], [1.9990008, 2.9985013]]
    np.testing.assert_allclose(ours, expected, rtol=1e-6)
    np.testing.assert_allclose(ours, stated, atol=5e-5 if training else 1e-7)
    fresh = keras.models.model_from_json(seed_spec())
    theirs = keras.ops.convert_to_numpy(fresh(SEED_INPUT, training=training))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_run_reference_refuses_wrong_input_count(tmp_path):
    model = build("multi_io")
    model.save(tmp_path / "model.keras")
    with pytest.raises(InvalidRequest):
        run_file(tmp_path / "model.keras", inputs_for(model)[:1])


def test_keyword_tensor_on_a_stateless_layer_is_refused():
    """A tensor passed by keyword (here to a Dense) has no place in the reference: said
    loudly rather than dropped."""
    x = LayerNode("x", "InputLayer", {"batch_shape": [None, 2]})
    dense = LayerNode(
        "d", "Dense", {"units": 1}, calls=[[TensorRef("x")]], call_extras=[[TensorRef("x")]]
    )
    graph = ModelGraph("m", "Functional", [x, dense], [TensorRef("x")], [TensorRef("d")])
    with pytest.raises(UnsupportedModel) as caught:
        run_reference(graph, [], [SEED_INPUT])
    assert caught.value.details == {"layer": "d", "class_name": "Dense"}


# Corpus: every file Keras 3 loads, with the input and what Keras 3.15.1 predicted for it.
CORPUS = [
    "hls4ml_keras_3layer.h5",
    "hls4ml_keras_3layer_batch_norm.h5",
    "hls4ml_jetTagger_Conv2D_small.h5",
    "keras2c_lstm_example.h5",
    "leyuzak_mnist_cnn_bn.keras",
    "spam_gru_model.keras",
]


@pytest.mark.parametrize("name", CORPUS)
def test_corpus_file_reproduces_keras_predict(corpus, name):
    """Within 1e-5 of the output's scale (the worst case, the 500-step GRU, is ~1.2e-6)."""
    stem = name.rsplit(".", 1)[0]
    x, expected = np.load(corpus / f"{stem}.input.npy"), np.load(corpus / f"{stem}.output.npy")
    _, ours = run_file(corpus / name, [x], keep_all=False)
    error = np.abs(ours.outputs[0] - expected).max()
    assert ours.outputs[0].shape == expected.shape
    assert error <= 1e-5 * np.abs(expected).max(), error


def test_corpus_gru_honours_padding_mask_like_keras(corpus):
    """The corpus input has no padding; with zero ids the Embedding mask decides the GRU."""
    x = np.load(corpus / "spam_gru_model.input.npy")
    x[0, 400:], x[1, :250] = 0, 0
    _, ours = run_file(corpus / "spam_gru_model.keras", [x])
    model = keras.saving.load_model(corpus / "spam_gru_model.keras", compile=False)
    expected = keras_layer_outputs(model, [x])
    assert_layers_match(ours.layers, expected)
    unmasked = ours.layers["gru_1"][0][0]
    assert not np.allclose(unmasked, run_without_mask(corpus, x), atol=1e-3)


def run_without_mask(corpus, x):
    """The GRU's output if the zeros were ordinary ids (mask_zero off): to show the mask
    changes the result, so the test above can fail."""
    with read_model(corpus / "spam_gru_model.keras") as loaded:
        resolve(loaded.graph, weights_in_file=True)
        loaded.graph.layer("embedding_6").config["mask_zero"] = False
        weights = materialize_weights(loaded.graph)
        return run_reference(loaded.graph, weights, [x]).layers["gru_1"][0][0]


def spec_graph(model):
    loaded = read_spec(model.to_json())
    resolve(loaded.graph, weights_in_file=False)
    return loaded.graph


def test_attention_given_both_masks_by_keyword_matches_keras():
    """Attention()([q, v], mask=[q_mask, v_mask]): both masks reach the layer, in order."""
    q, v = keras.Input((4, 3)), keras.Input((5, 3))
    qm, vm = keras.Input((4,), dtype="bool"), keras.Input((5,), dtype="bool")
    model = keras.Model([q, v, qm, vm], keras.layers.Attention()([q, v], mask=[qm, vm]))
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 5, 3))]
    xs = [x.astype(np.float32) for x in xs]
    masks = [np.array([[1, 0, 1, 1], [0, 1, 1, 1]], bool), np.array([[1, 1, 0, 0, 1]] * 2, bool)]
    theirs = keras.ops.convert_to_numpy(model(xs + masks))
    ours = run_reference(spec_graph(model), [], xs + masks).outputs[0]
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_multi_head_attention_with_an_explicit_attention_mask_is_unsupported():
    x, m = keras.Input((4, 3)), keras.Input((4, 4), dtype="bool")
    layer = keras.layers.MultiHeadAttention(num_heads=1, key_dim=2)
    model = keras.Model([x, m], layer(x, x, attention_mask=m))
    graph = spec_graph(model)
    weights = materialize_weights(graph)
    inputs = [np.zeros((2, 4, 3), np.float32), np.ones((2, 4, 4), bool)]
    with pytest.raises(UnsupportedModel) as caught:
        run_reference(graph, weights, inputs)
    assert caught.value.details["class_name"] == "MultiHeadAttention"
