"""Normalization layers: the registry's weights and output shapes against what Keras builds."""

from __future__ import annotations

import pytest

from app.layers.registry import lookup
from tests.support.kerascompare import registry_facts
from tests.support.kerasref import keras, layer_facts
from tests.support.weight_paths import chain, functional, predicted_datasets, stored_datasets

BATCHNORM_CASES = [
    ({}, [(None, 5)]),
    ({"center": False}, [(None, 8, 8, 3)]),
    ({"scale": False}, [(None, 8, 8, 3)]),
    ({"center": False, "scale": False}, [(None, 8, 8, 3)]),
    ({"axis": 1}, [(None, 3, 8, 8)]),
    ({"axis": 3}, [(2, 8, 8, 3)]),
    ({"axis": -2}, [(None, 7, 4)]),
    ({"axis": 2, "epsilon": 1e-6, "momentum": 0.9}, [(None, 4, 6, 5, 2)]),
]


@pytest.mark.parametrize(("config", "shapes"), BATCHNORM_CASES)
def test_batchnorm_weights_match_keras(config, shapes):
    assert registry_facts("BatchNormalization", config, shapes) == layer_facts(
        "BatchNormalization", config, shapes
    )


@pytest.mark.parametrize(("keras2_axis", "axis"), [([3], 3), ([1], 1), ([-1], -1)])
def test_batchnorm_reads_keras2_axis_list(keras2_axis, axis):
    shapes = [(None, 3, 8, 5)]
    assert registry_facts("BatchNormalization", {"axis": keras2_axis}, shapes) == layer_facts(
        "BatchNormalization", {"axis": axis}, shapes
    )


def test_batchnorm_channels_first_by_hand():
    facts = registry_facts("BatchNormalization", {"axis": 1, "center": False}, [(None, 3, 8, 8)])
    assert facts["weights"] == [
        ("gamma", (3,), True),
        ("moving_mean", (3,), False),
        ("moving_variance", (3,), False),
    ]


LAYERNORM_CASES = [
    ({}, [(None, 5)]),
    ({"axis": -1}, [(None, 7, 4)]),
    ({"axis": 1}, [(None, 7, 4)]),
    ({"axis": [-1]}, [(None, 8, 8, 3)]),
    ({"axis": [1, 2]}, [(None, 5, 4, 3)]),
    ({"axis": [2, 1]}, [(None, 5, 4, 3)]),
    ({"axis": [-1, 1]}, [(None, 5, 4)]),
    ({"axis": [1, 2, 3]}, [(None, 2, 4, 3)]),
    ({"center": False}, [(None, 6)]),
    ({"scale": False}, [(None, 6)]),
    ({"center": False, "scale": False}, [(None, 6)]),
    ({"axis": -1, "epsilon": 1e-6}, [(None, None, 6)]),
]


@pytest.mark.parametrize(("config", "shapes"), LAYERNORM_CASES)
def test_layernorm_weights_match_keras(config, shapes):
    assert registry_facts("LayerNormalization", config, shapes) == layer_facts(
        "LayerNormalization", config, shapes
    )


@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`:UserWarning")
@pytest.mark.parametrize(
    "config",
    [{"rms_scaling": True}, {"rms_scaling": True, "scale": False, "center": False}],
)
def test_layernorm_rms_scaling_has_gamma_only(config):
    shapes = [(None, 5, 6)]
    facts = registry_facts("LayerNormalization", config, shapes)
    assert facts == layer_facts("LayerNormalization", config, shapes)
    assert facts["weights"] == [("gamma", (6,), True)]


def test_layernorm_list_axis_sorted_as_given_by_hand():
    facts = registry_facts("LayerNormalization", {"axis": [-1, 1]}, [(None, 5, 4)])
    assert facts["weights"] == [("gamma", (4, 5), True), ("beta", (4, 5), True)]


@pytest.mark.parametrize("class_name", ["LayerNormalization", "RMSNormalization"])
def test_normalized_axis_of_unknown_size_is_refused(class_name):
    with pytest.raises(ValueError):
        layer_facts(class_name, {}, [(None, None)])
    with pytest.raises(ValueError):
        lookup(class_name).weights({}, [(None, None)])


def test_layernorm_rejects_axis_out_of_range():
    with pytest.raises(ValueError):
        lookup("LayerNormalization").output_shape({"axis": 3}, [(None, 5, 4)])


GROUPNORM_CASES = [
    ({"groups": 2}, [(None, 6)]),
    ({"groups": 4}, [(None, 8, 8, 16)]),
    ({"groups": -1}, [(None, 5, 6)]),
    ({"groups": 1, "axis": 1}, [(None, 6, 5, 5)]),
    ({"groups": 3, "center": False}, [(None, 4, 9)]),
    ({"groups": 3, "scale": False}, [(None, 4, 9)]),
    ({"groups": 3, "scale": False, "center": False}, [(None, 4, 9)]),
    ({"groups": 32}, [(None, 4, 4, 64)]),
]


@pytest.mark.parametrize(("config", "shapes"), GROUPNORM_CASES)
def test_groupnorm_weights_match_keras(config, shapes):
    assert registry_facts("GroupNormalization", config, shapes) == layer_facts(
        "GroupNormalization", config, shapes
    )


@pytest.mark.parametrize("groups", [4, 12])
def test_groupnorm_rejects_groups_keras_rejects(groups):
    with pytest.raises(ValueError):
        layer_facts("GroupNormalization", {"groups": groups}, [(None, 6)])
    with pytest.raises(ValueError):
        lookup("GroupNormalization").weights({"groups": groups}, [(None, 6)])


@pytest.mark.parametrize(
    ("config", "shapes"),
    [({}, [(None, 5)]), ({"axis": 1}, [(None, 4, 3)]), ({"axis": [1, 2]}, [(None, 4, 3, 2)])],
)
def test_unit_normalization_matches_keras(config, shapes):
    assert registry_facts("UnitNormalization", config, shapes) == layer_facts(
        "UnitNormalization", config, shapes
    )


RMSNORM_CASES = [
    ({}, [(None, 5)]),
    ({"axis": -1, "epsilon": 1e-5}, [(None, None, 8)]),
    ({"axis": 1}, [(None, 4, 3)]),
    ({"axis": [1, 2]}, [(None, 4, 3, 2)]),
    ({"axis": [-1, 1]}, [(None, 4, 3)]),
]


@pytest.mark.parametrize(("config", "shapes"), RMSNORM_CASES)
def test_rmsnorm_weights_match_keras(config, shapes):
    assert registry_facts("RMSNormalization", config, shapes) == layer_facts(
        "RMSNormalization", config, shapes
    )


def test_rmsnorm_weight_is_scale_by_hand():
    facts = registry_facts("RMSNormalization", {}, [(None, 3, 8)])
    assert facts["weights"] == [("scale", (8,), True)]


STORED_MODELS = {  # every weighted class of these families, in a `.keras` file
    "normalizations": lambda L: functional(
        [(None, 4, 4, 6)],
        chain(
            L.BatchNormalization(center=False),
            L.LayerNormalization(axis=[1, 2]),
            L.GroupNormalization(groups=3, scale=False),
            L.RMSNormalization(),
            L.LayerNormalization(center=False),
        ),
    ),
    "prelu_and_adapt_state": lambda L: functional(
        [(None, 4, 6)],
        chain(
            L.Normalization(axis=1), L.PReLU(shared_axes=[1]), L.Normalization(mean=0, variance=1)
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(STORED_MODELS))
def test_weights_are_stored_where_the_specs_say(name, tmp_path):
    model = STORED_MODELS[name](keras.layers)
    model.save(tmp_path / "m.keras")
    assert predicted_datasets(model) == stored_datasets(tmp_path / "m.keras")
