"""The registry's `owner` paths are where a `.keras` file really stores each variable.

Each model is built with Keras and saved; for every layer, the registry's specs (from the
layer's own config and input shapes) must name exactly the datasets under
`layers/<snake_case class name>/<owner>/vars/<i>` in `model.weights.h5`, with their shapes.
"""

from __future__ import annotations

import json
import zipfile

import pytest

from app.layers.recurrent import to_snake_case
from app.layers.registry import lookup
from tests.support.kerasref import keras
from tests.support.weight_paths import chain, functional, predicted_datasets, stored_datasets

L = keras.layers


MODELS = {
    "dense_batchnorm": lambda: functional(
        [(None, 6)], chain(L.Dense(4), L.BatchNormalization(), L.Dense(3, use_bias=False))
    ),
    "bidirectional_lstm": lambda: functional(
        [(None, 5, 3)], chain(L.Bidirectional(L.LSTM(4, return_sequences=True)), L.GRU(2))
    ),
    "bidirectional_backward_layer": lambda: functional(
        [(None, 5, 3)],
        chain(
            L.Bidirectional(L.GRU(4), backward_layer=L.GRU(4, go_backwards=True), merge_mode="sum")
        ),
    ),
    "time_distributed_dense": lambda: functional(
        [(None, 5, 3)], chain(L.TimeDistributed(L.Dense(2)), L.SimpleRNN(3))
    ),
    "gru_both_conventions": lambda: functional(
        [(None, 5, 3)],
        chain(L.GRU(4, return_sequences=True), L.GRU(2, reset_after=False, use_bias=False)),
    ),
    "rnn_stacked_cells": lambda: functional(
        [(None, 5, 3)], chain(L.RNN([L.LSTMCell(4), L.GRUCell(3), L.LSTMCell(2)]))
    ),
    "embedding_lstm": lambda: functional(
        [(None, 5)], chain(L.Embedding(9, 3, mask_zero=True), L.LSTM(2), L.Dense(1))
    ),
    "einsum_dense": lambda: functional(
        [(None, 5, 3)],
        chain(L.EinsumDense("abc,cde->abde", (None, 2, 4), bias_axes="de"), L.Identity()),
    ),
    "multi_head_attention": lambda: functional(
        [(None, 4, 6), (None, 5, 7)], lambda q, v: L.MultiHeadAttention(2, 3)(q, v)
    ),
    "multi_head_attention_gate_key": lambda: functional(
        [(None, 4, 6), (None, 5, 7), (None, 5, 8)],
        lambda q, v, k: L.MultiHeadAttention(2, 3, value_dim=4, use_gate=True, output_shape=5)(
            q, v, k
        ),
    ),
    "grouped_query_attention": lambda: functional(
        [(None, 4, 8), (None, 3, 8)], lambda q, v: L.GroupQueryAttention(2, 4, 2)(q, v)
    ),
    "attention_layers": lambda: functional(
        [(None, 4, 5), (None, 3, 5)],
        lambda q, v: [
            L.Attention(use_scale=True, score_mode="concat")([q, v]),
            L.AdditiveAttention()([q, v]),
        ],
    ),
    "conv_lstm2d": lambda: functional([(None, 3, 5, 5, 2)], chain(L.ConvLSTM2D(2, 3))),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_owner_paths_match_keras_file(name, tmp_path):
    model = MODELS[name]()
    model.save(tmp_path / "m.keras")
    stored = stored_datasets(tmp_path / "m.keras")
    predicted = predicted_datasets(model)
    assert predicted == stored


def test_owner_paths_match_keras_file_for_conv2d(tmp_path):
    if lookup("Conv2D") is None:
        pytest.skip("Conv2D is not registered yet")
    model = functional(
        [(None, 5, 6, 6, 3)],
        chain(L.TimeDistributed(L.Conv2D(2, 3)), L.ConvLSTM2D(2, 2), L.Conv2D(1, 2)),
    )
    model.save(tmp_path / "m.keras")
    assert predicted_datasets(model) == stored_datasets(tmp_path / "m.keras")


def test_owner_paths_match_a_real_keras_file(corpus):
    """spam_gru_model.keras (Keras 3.13): Embedding(mask_zero) and GRU(reset_after)."""
    path = corpus / "spam_gru_model.keras"
    with zipfile.ZipFile(path) as archive:
        model = json.loads(archive.read("config.json"))
    predicted: dict[str, tuple] = {}
    for entry in model["config"]["layers"]:
        registry = lookup(entry["class_name"])
        build = entry.get("build_config") or {}
        if registry is None or "input_shape" not in build:
            continue
        specs = registry.weights(entry["config"], [tuple(build["input_shape"])])
        for i, spec in enumerate(specs):
            owner = f"{spec.owner}/" if spec.owner else ""
            predicted[f"layers/{to_snake_case(entry['class_name'])}/{owner}vars/{i}"] = spec.shape
    stored = {k: v for k, v in stored_datasets(path).items() if k.startswith("layers/")}
    assert predicted == stored
