"""Keras-side calls the base harness does not make: several positional tensors, call keyword
arguments, layers outside `keras.layers`, weights of sublayers, several outputs.

`assert_call_matches_keras` calls the Keras layer as `layer(*inputs, **call_kwargs)`
(MultiHeadAttention's `query, value, key`) or `layer(list(inputs), **call_kwargs)`
(Attention's list), and hands the reference `{**config, **call_kwargs}`: the reference reads
call arguments (`use_causal_mask`, `return_attention_scores`) from its config. Weights are
keyed by their path inside the layer (`query/kernel`), the registry's weight names.

Only tests import this (it imports keras through tests.support.kerasref).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from app.reference import run_layer
from tests.reference.harness import TOLERANCE, keras_layer
from tests.support import kerasref
from tests.support.kerasref import keras, weight_path
from tests.support.models import randomize_weights


def build_layer(class_name: str, config: dict[str, Any]) -> Any:
    """The Keras layer for `class_name`, including classes keras.layers does not export
    under that name (the saved class name of GroupQueryAttention, InceptionResNetV2's layer)."""
    if class_name == "GroupedQueryAttention":
        from keras.src.layers.attention.grouped_query_attention import GroupedQueryAttention

        return GroupedQueryAttention.from_config(dict(config))
    if class_name == "CustomScaleLayer":
        from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

        return CustomScaleLayer.from_config(dict(config))
    return keras_layer(class_name, config)


def unnumbered(path: str) -> str:
    """`query_1/kernel_2` -> `query/kernel`: eagerly built layers number their variables."""
    return "/".join(re.sub(r"_\d+$", "", part) for part in path.split("/"))


def path_weights(layer: Any) -> dict[str, np.ndarray]:
    """The layer's weights keyed by their path inside it (`query/kernel`, `scale`)."""
    return {unnumbered(weight_path(layer, w)): np.asarray(w.numpy()) for w in layer.weights}


def call(layer: Any, inputs: list[np.ndarray], as_list: bool, kwargs: dict, training: bool):
    """Call the layer eagerly (the same way on every CPU: tests.support.kerasref.call); its
    output(s) as a list of NumPy arrays."""
    args = [list(inputs)] if as_list else list(inputs)
    out = kerasref.call(layer, *args, training=training, **kwargs)
    outs = list(out) if isinstance(out, list | tuple) else [out]
    return [keras.ops.convert_to_numpy(o) for o in outs]


def keras_outputs(
    class_name: str,
    config: dict[str, Any],
    inputs: list[np.ndarray],
    as_list: bool = False,
    call_kwargs: dict | None = None,
    training: bool = False,
) -> tuple[list[np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """Keras' outputs with randomized weights, those weights by path, and `get_config()`."""
    keras.utils.set_random_seed(0)
    layer = build_layer(class_name, config)
    call(layer, inputs, as_list, call_kwargs or {}, training)  # builds the weights
    randomize_weights(layer, seed=1)
    outputs = call(layer, inputs, as_list, call_kwargs or {}, training)
    return outputs, path_weights(layer), layer.get_config()


def as_outputs(value: Any) -> list[np.ndarray]:
    return list(value) if isinstance(value, list) else [value]


def assert_call_matches_keras(
    class_name: str,
    config: dict[str, Any],
    inputs: list[np.ndarray],
    as_list: bool = False,
    call_kwargs: dict | None = None,
    training: bool = False,
) -> list[np.ndarray]:
    """Every output of the reference equals Keras' within TOLERANCE, same shape and dtype.

    The reference runs on `config` as given and on the layer's full `get_config()` (both
    with the call kwargs merged in); the two must agree exactly.
    """
    kwargs = call_kwargs or {}
    expected, weights, full_config = keras_outputs(
        class_name, config, inputs, as_list, kwargs, training
    )
    ours = as_outputs(run_layer(class_name, {**config, **kwargs}, weights, inputs, training))
    full = as_outputs(run_layer(class_name, {**full_config, **kwargs}, weights, inputs, training))
    assert len(ours) == len(expected) == len(full)
    for mine, theirs, again in zip(ours, expected, full, strict=True):
        np.testing.assert_array_equal(again, mine)
        assert mine.shape == theirs.shape, (mine.shape, theirs.shape)
        assert mine.dtype == theirs.dtype, (mine.dtype, theirs.dtype)
        np.testing.assert_allclose(mine, theirs, **TOLERANCE)
    return ours
