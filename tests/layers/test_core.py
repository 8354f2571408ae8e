"""Core layers: the registry's weights and output shapes against what Keras builds."""

from __future__ import annotations

import pytest

from app.layers.registry import lookup
from tests.support.kerascompare import registry_facts
from tests.support.kerasref import layer_facts

EINSUM_CASES = [
    ("ab,bc->ac", 4, None, [(None, 3)]),
    ("ab,bc->ac", 4, "c", [(None, 3)]),
    ("abc,cd->abd", [None, 4], "d", [(None, 5, 3)]),
    ("abc,cd->abd", [5, 4], None, [(2, 5, 3)]),
    ("abc,cde->abde", [None, 2, 4], "de", [(None, 5, 3)]),
    ("abc,cde->abde", [None, 2, 4], "e", [(None, 5, 3)]),
    ("abc,cde->abde", [None, 2, 4], "d", [(None, 5, 3)]),
    ("abc,cde->abde", [5, 2, 4], "bd", [(None, 5, 3)]),
    ("abcd,cde->abe", [None, 6], "e", [(None, 5, 3, 2)]),
    ("...b,bc->...c", 4, "c", [(None, 5, 7, 3)]),
    ("...ab,bc->...ac", [None, 4], "c", [(None, 5, 7, 3)]),
    ("...ab,bc->...ac", [5, 4], "ac", [(None, 2, 5, 3)]),
    ("ab...,bc->ac...", [4, 7], "c", [(None, 3, 7)]),
    ("ab...,bc->ac...", [4, 5, 7], "c", [(None, 3, 5, 7)]),
    ("abc,cd->abd", [5, 4], "bd", [(None, 5, 3)]),
]


@pytest.mark.parametrize(("equation", "output_shape", "bias_axes", "shapes"), EINSUM_CASES)
def test_einsum_dense_weights_match_keras(equation, output_shape, bias_axes, shapes):
    config = {"equation": equation, "output_shape": output_shape, "bias_axes": bias_axes}
    assert registry_facts("EinsumDense", config, shapes) == layer_facts(
        "EinsumDense", config, shapes
    )


def test_einsum_dense_rejects_equation_keras_rejects():
    config = {"equation": "ab,bc", "output_shape": 4}
    with pytest.raises(ValueError):
        lookup("EinsumDense").weights(config, [(None, 3)])


def test_einsum_dense_rejects_unknown_bias_axis():
    config = {"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "z"}
    with pytest.raises(ValueError):
        lookup("EinsumDense").weights(config, [(None, 3)])


def test_einsum_dense_kernel_by_hand():
    config = {"equation": "abc,cde->abde", "output_shape": [None, 8, 16], "bias_axes": "de"}
    facts = registry_facts("EinsumDense", config, [(None, 10, 32)])
    assert facts["weights"] == [("kernel", (32, 8, 16), True), ("bias", (8, 16), True)]
    # Keras leaves the shared axis `b` unknown where output_shape says None: (None, None, ...).
    assert facts["output_shape"] == (None, None, 8, 16)


def test_einsum_dense_refuses_bias_over_unknown_axis():
    config = {"equation": "abc,cd->abd", "output_shape": [None, 4], "bias_axes": "bd"}
    with pytest.raises(ValueError):
        lookup("EinsumDense").weights(config, [(None, 5, 3)])


EMBEDDING_CASES = [
    ({"input_dim": 10, "output_dim": 3}, [(None, 5)]),
    ({"input_dim": 10, "output_dim": 3, "mask_zero": True}, [(None, None)]),
    ({"input_dim": 7, "output_dim": 2}, [(4, 5, 6)]),
    ({"input_dim": 7, "output_dim": 2}, [(None,)]),
]


@pytest.mark.parametrize(("config", "shapes"), EMBEDDING_CASES)
def test_embedding_weights_match_keras(config, shapes):
    assert registry_facts("Embedding", config, shapes) == layer_facts("Embedding", config, shapes)


def test_embedding_input_length_fills_unknown_steps_as_keras2_did():
    config = {"input_dim": 10, "output_dim": 3, "input_length": 5}
    facts = registry_facts("Embedding", config, [(None, None)])
    assert facts["weights"] == [("embeddings", (10, 3), True)]
    assert facts["output_shape"] == (None, 5, 3)


def test_embedding_input_length_keeps_known_steps():
    config = {"input_dim": 10, "output_dim": 3, "input_length": 5}
    assert registry_facts("Embedding", config, [(None, 5)])["output_shape"] == (None, 5, 3)


@pytest.mark.parametrize(
    ("class_name", "config", "shapes"),
    [
        ("Masking", {"mask_value": 0.0}, [(None, 5, 3)]),
        ("Masking", {}, [(2, 4)]),
        ("Identity", {}, [(None, 5, 3)]),
    ],
)
def test_weightless_core_layers_match_keras(class_name, config, shapes):
    assert registry_facts(class_name, config, shapes) == layer_facts(class_name, config, shapes)


def test_identity_passes_every_input_through():
    shapes = [(None, 3), (None, 4, 5)]
    assert lookup("Identity").output_shape({}, shapes) == [(None, 3), (None, 4, 5)]


def test_lambda_is_never_registered():
    assert lookup("Lambda") is None


@pytest.mark.parametrize("class_name", ["Dense", "EinsumDense", "Embedding", "Masking", "Identity"])
def test_register_core_classes_in_core_family_with_summary(class_name):
    entry = lookup(class_name)
    assert entry.family == "core"
    assert entry.summary.endswith(".")
