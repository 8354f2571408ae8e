"""Attention layers against Keras: projections, heads, output_shape, attention_axes, causal
and sliding-window masks, gates, returned scores; Attention and AdditiveAttention modes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from app.errors import UnsupportedModel
from app.reference import run_layer
from tests.reference.calls import (
    as_outputs,
    assert_call_matches_keras,
    build_layer,
    path_weights,
)
from tests.reference.harness import TOLERANCE, random_inputs
from tests.support.kerasref import keras
from tests.support.models import randomize_weights

CAUSAL = {"use_causal_mask": True}
SCORES = {"return_attention_scores": True}

# (config, input shapes: query, value[, key]; a single shape is self-attention, call kwargs)
MHA = [
    ({"num_heads": 2, "key_dim": 3}, [(2, 4, 5), (2, 6, 5)], {}),
    (
        {"num_heads": 3, "key_dim": 2, "value_dim": 4, "use_bias": False},
        [(2, 4, 5), (2, 6, 3), (2, 6, 7)],
        {},
    ),
    ({"num_heads": 2, "key_dim": 3, "output_shape": 7}, [(2, 5, 4)], {}),
    ({"num_heads": 2, "key_dim": 3, "output_shape": (2, 3)}, [(2, 4, 5), (2, 6, 5)], {}),
    ({"num_heads": 2, "key_dim": 2, "attention_axes": (2,)}, [(2, 3, 4, 5), (2, 3, 6, 5)], {}),
    ({"num_heads": 2, "key_dim": 2, "attention_axes": (1, 2)}, [(2, 3, 4, 5), (2, 2, 3, 5)], {}),
    ({"num_heads": 2, "key_dim": 2, "attention_axes": -2}, [(1, 3, 4, 5), (1, 3, 6, 5)], SCORES),
    ({"num_heads": 2, "key_dim": 4}, [(2, 5, 6)], CAUSAL),
    ({"num_heads": 2, "key_dim": 4}, [(2, 4, 6), (2, 6, 6)], CAUSAL),
    ({"num_heads": 2, "key_dim": 3}, [(2, 4, 5), (2, 6, 5)], SCORES),
    ({"num_heads": 2, "key_dim": 3}, [(2, 5, 5)], {**SCORES, **CAUSAL}),
    ({"num_heads": 2, "key_dim": 3, "sliding_window": 2}, [(2, 6, 5)], {}),
    ({"num_heads": 2, "key_dim": 3, "sliding_window": 3}, [(2, 6, 5)], CAUSAL),
    ({"num_heads": 2, "key_dim": 3, "use_gate": True}, [(2, 4, 5), (2, 6, 5)], {}),
    ({"num_heads": 2, "key_dim": 3, "dropout": 0.3}, [(2, 4, 5), (2, 6, 5)], {}),
]

GQA = [
    ({"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2}, [(2, 5, 6), (2, 7, 6)], {}),
    (
        {"head_dim": 2, "num_query_heads": 6, "num_key_value_heads": 3, "use_bias": False},
        [(2, 5, 6), (2, 7, 6), (2, 7, 4)],
        {},
    ),
    ({"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 1}, [(2, 5, 6)], CAUSAL),
    (
        {"head_dim": 3, "num_query_heads": 2, "num_key_value_heads": 2},
        [(2, 4, 6), (2, 5, 6)],
        SCORES,
    ),
    (
        {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2, "use_gate": True},
        [(2, 5, 6)],
        {},
    ),
    (
        {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2, "sliding_window": 2},
        [(2, 6, 6)],
        CAUSAL,
    ),
]

# Attention and AdditiveAttention take the list [query, value(, key)].
LUONG = [
    ("Attention", {}, [(2, 4, 5), (2, 6, 5)], {}),
    ("Attention", {"use_scale": True}, [(2, 4, 5), (2, 6, 3), (2, 6, 5)], {}),
    ("Attention", {"score_mode": "concat"}, [(2, 4, 5), (2, 6, 5)], {}),
    ("Attention", {"score_mode": "concat", "use_scale": True}, [(2, 4, 5), (2, 6, 5)], SCORES),
    ("Attention", {"use_scale": True}, [(2, 5, 4), (2, 5, 4)], CAUSAL),
    ("Attention", {"dropout": 0.4}, [(2, 4, 5), (2, 6, 5)], SCORES),
    ("AdditiveAttention", {}, [(2, 4, 5), (2, 6, 5)], {}),
    ("AdditiveAttention", {"use_scale": False}, [(2, 4, 5), (2, 6, 3), (2, 6, 5)], {}),
    ("AdditiveAttention", {}, [(2, 5, 4), (2, 5, 4)], {**CAUSAL, **SCORES}),
]


def _inputs(shapes):
    arrays = random_inputs(shapes)
    return arrays * 2 if len(arrays) == 1 else arrays  # one shape: query is value


def _ids(cases):
    return [f"{i}-{'-'.join(sorted(c[-1])) or 'plain'}" for i, c in enumerate(cases)]


@pytest.mark.parametrize(("config", "shapes", "kwargs"), MHA, ids=_ids(MHA))
def test_multi_head_attention_matches_keras(config, shapes, kwargs):
    assert_call_matches_keras("MultiHeadAttention", config, _inputs(shapes), call_kwargs=kwargs)


@pytest.mark.parametrize(("config", "shapes", "kwargs"), GQA, ids=_ids(GQA))
def test_grouped_query_attention_matches_keras(config, shapes, kwargs):
    assert_call_matches_keras("GroupedQueryAttention", config, _inputs(shapes), call_kwargs=kwargs)


def test_group_query_attention_alias_matches_keras():
    config = {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2}
    assert_call_matches_keras("GroupQueryAttention", config, _inputs([(2, 4, 6), (2, 5, 6)]))


@pytest.mark.parametrize(("class_name", "config", "shapes", "kwargs"), LUONG, ids=_ids(LUONG))
def test_attention_matches_keras(class_name, config, shapes, kwargs):
    inputs = random_inputs(shapes)
    assert_call_matches_keras(class_name, config, inputs, as_list=True, call_kwargs=kwargs)


def test_multi_head_attention_training_without_dropout_matches_keras():
    inputs = _inputs([(2, 4, 5), (2, 6, 5)])
    config = {"num_heads": 2, "key_dim": 3}
    assert_call_matches_keras("MultiHeadAttention", config, inputs, training=True)


def test_attention_causal_first_query_sees_only_first_value():
    query, value = random_inputs([(1, 3, 2), (1, 3, 2)])
    out = run_layer("Attention", {"use_causal_mask": True}, {}, [query, value])
    # position 0 may attend to position 0 only: its softmax weight is 1
    np.testing.assert_array_equal(out[0, 0], value[0, 0])


def test_multi_head_attention_causal_over_other_axes_is_refused():
    config = {"num_heads": 1, "key_dim": 2, "attention_axes": (2,), "use_causal_mask": True}
    x = np.ones((1, 2, 3, 2), np.float32)
    weights = {
        f"{name}/kernel": np.ones(shape, np.float32)
        for name, shape in [("query", (2, 1, 2)), ("key", (2, 1, 2)), ("value", (2, 1, 2))]
    }
    weights["attention_output/kernel"] = np.ones((1, 2, 2), np.float32)
    with pytest.raises(UnsupportedModel):
        run_layer("MultiHeadAttention", config, weights, [x, x])


QUERY_MASK = np.array([[1, 1, 0, 1], [1, 0, 0, 0]], dtype=bool)
VALUE_MASK = np.array([[1, 0, 1, 1], [0, 0, 0, 0]], dtype=bool)  # sample 2: nothing to attend
KEY_MASK = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], dtype=bool)
MASKED_CASES = [
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, {}),
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, CAUSAL),
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, SCORES),  # masked rows give 0
    ("GroupedQueryAttention", {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2}, {}),
]


@pytest.mark.parametrize("with_key", [False, True], ids=["query-value", "query-value-key"])
@pytest.mark.parametrize(("class_name", "config", "kwargs"), MASKED_CASES, ids=str)
def test_multi_head_attention_with_the_inputs_masks_matches_keras(
    class_name, config, kwargs, with_key
):
    """The masks an Embedding(mask_zero=True) gives: Keras joins the query's, value's and
    key's into the score mask (with the causal one); a query whose values are all masked
    gets only the output bias."""
    inputs = random_inputs([(2, 4, 5)] * (3 if with_key else 2))
    masks = [QUERY_MASK, VALUE_MASK, KEY_MASK][: len(inputs)]

    def call(layer, given):
        with warnings.catch_warnings():  # GroupedQueryAttention hands the masks on to its
            warnings.simplefilter("ignore", UserWarning)  # projections, and Keras warns
            return layer(*(inputs if given is None else masked_tensors(inputs, given)), **kwargs)

    assert_masked_call_matches_keras(class_name, config, kwargs, inputs, masks, call)


def assert_masked_call_matches_keras(class_name, config, kwargs, inputs, masks, call) -> None:
    """`call(layer, masks or None)` calls the Keras layer built from `config` (with the call
    arguments `kwargs`); with randomized weights, the reference given the same masks equals
    the masked call, and the masks change Keras' answer (so the case tests them)."""
    layer = build_layer(class_name, config)
    call(layer, None)  # builds the weights
    randomize_weights(layer, seed=1)
    expected = numpy_list(call(layer, masks))
    weights = path_weights(layer)
    ours = as_outputs(run_layer(class_name, {**config, **kwargs}, weights, inputs, masks=masks))
    assert len(ours) == len(expected)
    for mine, theirs in zip(ours, expected, strict=True):
        np.testing.assert_allclose(mine, theirs, **TOLERANCE)
    assert not np.allclose(numpy_list(call(layer, None))[0], expected[0])


def numpy_list(out) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(o) for o in (out if isinstance(out, tuple) else [out])]


def masked_tensors(arrays, masks):
    """Tensors carrying Keras masks, as an Embedding(mask_zero=True) leaves them: Keras'
    MultiHeadAttention reads the query's mask from the tensor only."""
    from keras.src.backend import set_keras_mask

    tensors = []
    for array, mask in zip(arrays, masks, strict=True):
        tensor = keras.ops.convert_to_tensor(array)
        set_keras_mask(tensor, keras.ops.convert_to_tensor(mask))
        tensors.append(tensor)
    return tensors


LUONG_MASK_CASES = [
    ("Attention", {}, {}),
    ("Attention", {"use_scale": True, "score_mode": "concat"}, CAUSAL),
    ("AdditiveAttention", {}, SCORES),
]


@pytest.mark.parametrize(("class_name", "config", "kwargs"), LUONG_MASK_CASES, ids=str)
def test_attention_with_query_and_value_masks_matches_keras(class_name, config, kwargs):
    """Keras' Attention layers take mask=[query_mask, value_mask]: masked values get −1e9 in
    the scores, masked queries a zero output row."""
    inputs = random_inputs([(2, 4, 5), (2, 4, 5)])
    masks = [QUERY_MASK, np.array([[1, 0, 1, 1], [1, 1, 0, 0]], dtype=bool)]

    def call(layer, given):
        return layer(inputs, **kwargs) if given is None else layer(inputs, mask=given, **kwargs)

    assert_masked_call_matches_keras(class_name, config, kwargs, inputs, masks, call)
