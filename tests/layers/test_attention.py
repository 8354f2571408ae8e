"""Attention layers: the registry's weights and output shapes against what Keras builds."""

from __future__ import annotations

import pytest

from app.layers.registry import lookup
from tests.support.kerascompare import registry_facts
from tests.support.kerasref import keras, layer_facts, weight_path


def called_facts(class_name: str, config: dict, input_shapes: list) -> dict:
    """Like `layer_facts`, for layers called as `layer(query, value[, key])`."""
    layer = getattr(keras.layers, class_name).from_config(dict(config))
    inputs = [keras.Input(batch_shape=shape) for shape in input_shapes]
    out = layer(*inputs)
    return {
        "weights": [(weight_path(layer, w), tuple(w.shape), w.trainable) for w in layer.weights],
        "output_shape": tuple(out.shape),
    }


MHA_CASES = [
    ({"num_heads": 2, "key_dim": 3}, [(None, 4, 6), (None, 5, 7)]),
    ({"num_heads": 2, "key_dim": 3}, [(None, 4, 6), (None, 5, 7), (None, 5, 8)]),
    ({"num_heads": 2, "key_dim": 3, "value_dim": 5}, [(None, 4, 6), (None, 5, 7)]),
    ({"num_heads": 1, "key_dim": 4, "use_bias": False}, [(None, 4, 6), (None, 4, 6)]),
    ({"num_heads": 2, "key_dim": 3, "output_shape": 9}, [(None, 4, 6), (None, 5, 7)]),
    ({"num_heads": 2, "key_dim": 3, "output_shape": [2, 5]}, [(None, 4, 6), (None, 5, 7)]),
    ({"num_heads": 2, "key_dim": 3, "attention_axes": [1, 2]}, [(None, 3, 4, 6), (None, 3, 2, 5)]),
    ({"num_heads": 2, "key_dim": 2, "attention_axes": 2}, [(None, 3, 4, 6), (None, 3, 2, 5)]),
    ({"num_heads": 3, "key_dim": 2, "use_gate": True}, [(None, 4, 6), (None, 5, 7)]),
    ({"num_heads": 2, "key_dim": 3, "use_gate": True, "use_bias": False}, [(2, 4, 6), (2, 5, 7)]),
    ({"num_heads": 2, "key_dim": 3}, [(None, 6), (None, 7)]),
]


@pytest.mark.parametrize(("config", "shapes"), MHA_CASES)
def test_multi_head_attention_weights_match_keras(config, shapes):
    ours = registry_facts("MultiHeadAttention", config, shapes)
    assert ours == called_facts("MultiHeadAttention", config, shapes)


def test_multi_head_attention_weights_by_hand():
    config = {"num_heads": 8, "key_dim": 64}
    specs = lookup("MultiHeadAttention").weights(config, [(None, 10, 512), (None, 12, 256)])
    assert [(s.name, s.shape, s.owner) for s in specs] == [
        ("query/kernel", (512, 8, 64), "query_dense"),
        ("query/bias", (8, 64), "query_dense"),
        ("key/kernel", (256, 8, 64), "key_dense"),
        ("key/bias", (8, 64), "key_dense"),
        ("value/kernel", (256, 8, 64), "value_dense"),
        ("value/bias", (8, 64), "value_dense"),
        ("attention_output/kernel", (8, 64, 512), "output_dense"),
        ("attention_output/bias", (512,), "output_dense"),
    ]


def test_multi_head_attention_single_shape_is_self_attention():
    config = {"num_heads": 2, "key_dim": 3}
    alone = registry_facts("MultiHeadAttention", config, [(None, 4, 6)])
    assert alone == registry_facts("MultiHeadAttention", config, [(None, 4, 6), (None, 4, 6)])


def test_multi_head_attention_refuses_value_and_key_of_different_lengths():
    with pytest.raises(ValueError):
        lookup("MultiHeadAttention").weights(
            {"num_heads": 2, "key_dim": 3}, [(None, 4, 6), (None, 5, 7), (None, 6, 7)]
        )


GQA_CASES = [
    ({"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2}, [(None, 4, 8), (None, 3, 8)]),
    (
        {"head_dim": 3, "num_query_heads": 2, "num_key_value_heads": 1, "use_bias": False},
        [(None, 4, 6), (None, 3, 6), (None, 3, 5)],
    ),
    (
        {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 2, "use_gate": True},
        [(None, 4, 6), (None, 3, 6)],
    ),
]


@pytest.mark.parametrize(("config", "shapes"), GQA_CASES)
def test_grouped_query_attention_weights_match_keras(config, shapes):
    ours = registry_facts("GroupedQueryAttention", config, shapes)
    assert ours == called_facts("GroupQueryAttention", config, shapes)


def test_grouped_query_attention_answers_to_both_names():
    assert lookup("GroupQueryAttention") is lookup("GroupedQueryAttention")


ATTENTION_CASES = [
    ("Attention", {}, [(None, 4, 5), (None, 3, 5)]),
    ("Attention", {"use_scale": True}, [(None, 4, 5), (None, 3, 5)]),
    ("Attention", {"score_mode": "concat"}, [(None, 4, 5), (None, 3, 5)]),
    ("Attention", {"use_scale": True, "score_mode": "concat"}, [(None, 4, 5), (None, 3, 5)]),
    ("Attention", {}, [(None, 4, 5), (None, 3, 6), (None, 3, 5)]),
    ("AdditiveAttention", {}, [(None, 4, 5), (None, 3, 5)]),
    ("AdditiveAttention", {"use_scale": False}, [(None, 4, 5), (None, 3, 5)]),
    ("AdditiveAttention", {}, [(2, 4, 5), (2, 3, 7), (2, 3, 5)]),
]


@pytest.mark.parametrize(("class_name", "config", "shapes"), ATTENTION_CASES)
def test_attention_weights_match_keras(class_name, config, shapes):
    assert registry_facts(class_name, config, shapes) == layer_facts(class_name, config, shapes)


@pytest.mark.parametrize(
    "class_name", ["MultiHeadAttention", "GroupedQueryAttention", "Attention", "AdditiveAttention"]
)
def test_register_attention_classes_in_attention_family(class_name):
    assert lookup(class_name).family == "attention"
