"""Budgets from the graph, before any run: figures worked out by hand, parameter and
activation bombs refused with their figures, and the proposed limits letting real models in."""

from __future__ import annotations

import json
import time

import pytest

from app.analysis.breakdown import layer_reports, totals
from app.analysis.resolve import resolve
from app.check.budgets import (
    DEFAULT_BUDGETS,
    BudgetLimits,
    TensorSize,
    check_budgets,
    measure,
)
from app.errors import (
    ActivationBudgetExceeded,
    InputBudgetExceeded,
    LayerBudgetExceeded,
    ParameterBudgetExceeded,
    TensorBudgetExceeded,
)
from app.formats import read_spec
from tests.support.bombs import subarray_dtype_spec
from tests.support.kerasref import keras
from tests.support.models import layers


def resolved_spec(spec):
    loaded = read_spec(spec)
    resolve(loaded.graph, weights_in_file=False)
    return loaded.graph


def dense_spec(units_in, units_out):
    """Input((units_in,)) → Dense(units_out), as model.to_json() writes it (by hand: a
    10-billion-parameter model is never built, not even by Keras)."""
    dense = {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {"name": "dense", "units": units_out, "use_bias": True},
        "registered_name": None,
    }
    first = {"class_name": "InputLayer", "config": {"batch_shape": [None, units_in], "name": "x"}}
    return {"class_name": "Sequential", "config": {"name": "bomb", "layers": [first, dense]}}


def test_measure_tiny_model_by_hand():
    """Input((4,)) → Dense(3) → Dense(2): 4·3 + 3 = 15 and 3·2 + 2 = 8 parameters; outputs of
    4 (the input), 3 and 2 float32 values at batch 1: 36 bytes."""
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(2)])
    figures = measure(resolved_spec(model.to_json()))
    assert figures.params == 23 == model.count_params()
    assert figures.weight_bytes == 23 * 4
    assert figures.activation_bytes == (4 + 3 + 2) * 4
    kernel = f"{model.layers[0].name}/kernel"
    assert figures.largest_tensor == TensorSize(kernel, "weight", (4, 3), 48)
    assert (figures.layers, figures.input_elements, figures.input_bytes) == (2, 4, 16)


def test_measure_functional_counts_the_input_once_like_sequential():
    x = keras.Input((4,))
    model = keras.Model(x, layers.Dense(2)(layers.Dense(3)(x)))
    figures = measure(resolved_spec(model.to_json()))
    assert figures.activation_bytes == (4 + 3 + 2) * 4
    assert figures.params == model.count_params()


def test_measure_unknown_dims_count_as_the_size_given():
    """Input((None, 8)) → Dense(2): with the sequence length taken as 5, (5·8 + 5·2) · 4."""
    model = keras.Sequential([keras.Input((None, 8)), layers.Dense(2)])
    graph = resolved_spec(model.to_json())
    assert measure(graph, unknown_dim=5).activation_bytes == (5 * 8 + 5 * 2) * 4
    assert measure(graph, unknown_dim=5).input_elements == 40


def test_measure_mixed_precision_outputs_at_their_compute_dtype():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3, dtype="mixed_float16")])
    figures = measure(resolved_spec(model.to_json()))
    assert figures.activation_bytes == 4 * 4 + 3 * 2  # float32 input, float16 Dense output
    assert figures.weight_bytes == 15 * 4  # variables stay float32


def test_measure_counts_inputs_in_bytes_at_their_dtype():
    """Input((4,), float64) and Input((2,), mixed_float16, seeded in float32): 4·8 + 2·4."""
    a = keras.Input((4,), dtype="float64", name="a")
    b = keras.Input((2,), name="b")
    joined = layers.Concatenate()([layers.Dense(2)(a), b])
    spec = json.loads(keras.Model([a, b], joined).to_json())
    [b_entry] = [e for e in spec["config"]["layers"] if e["config"]["name"] == "b"]
    b_entry["config"]["dtype"] = "mixed_float16"
    figures = measure(resolved_spec(spec))
    assert (figures.input_elements, figures.input_bytes) == (6, 4 * 8 + 2 * 4)


def test_check_budgets_counts_seeded_inputs_in_bytes_at_their_dtype():
    """40,000,000 float64 values: under the element budget (50,000,000), but 320,000,000
    bytes, over the byte budget (200,000,000). (A sub-array dtype such as "(4096,4096)f8",
    which once made 8 values weigh 1 GiB, is refused at the edge: test_spec_fields.)"""
    spec = subarray_dtype_spec()
    spec["config"]["layers"][0]["config"].update(batch_shape=[None, 40_000_000], dtype="float64")
    spec["config"]["layers"][1] = {"class_name": "ReLU", "config": {"name": "relu"}}
    graph = resolved_spec(json.dumps(spec))
    with pytest.raises(InputBudgetExceeded) as info:
        check_budgets(graph, DEFAULT_BUDGETS)
    assert info.value.details["figures"]["input_elements"] == 40_000_000
    assert info.value.details["figures"]["input_bytes"] == 320_000_000
    assert info.value.details["exceeded"] == ["input_bytes"]


def test_check_budgets_explains_then_refuses_ten_billion_parameters():
    started = time.perf_counter()
    graph = resolved_spec(json.dumps(dense_spec(100_000, 100_000)))
    reports, counted = layer_reports(graph), totals(graph)
    elapsed = time.perf_counter() - started
    assert counted.params == 100_000 * 100_000 + 100_000 == 10_000_100_000
    assert reports[-1].formula == "100000 × 100000 + 100000 = 10,000,100,000"
    assert elapsed < 0.5
    with pytest.raises(ParameterBudgetExceeded) as info:
        check_budgets(graph, DEFAULT_BUDGETS)
    error = info.value
    assert (error.code, error.status) == ("parameter-budget-exceeded", 422)
    assert error.details["exceeded"] == ["params", "largest_tensor_bytes"]
    assert error.details["figures"]["params"] == 10_000_100_000
    assert error.details["figures"]["largest_tensor"]["bytes"] == 40_000_000_000
    assert error.details["limits"]["max_params"] == DEFAULT_BUDGETS.max_params
    assert "10,000,100,000 parameters" in error.message


def test_check_budgets_refuses_activation_bomb_with_no_parameters():
    """Input((1000,)) → RepeatVector(130,000) → 8 × ReLU: every output 130,000,000 float32
    values (520 MB, each under the tensor limit), 9 of them plus the input: 4,680,004,000 B."""
    stack = [keras.Input((1000,)), layers.RepeatVector(130_000)]
    stack += [layers.ReLU() for _ in range(8)]
    graph = resolved_spec(keras.Sequential(stack).to_json())
    with pytest.raises(ActivationBudgetExceeded) as info:
        check_budgets(graph, DEFAULT_BUDGETS)
    assert info.value.details["exceeded"] == ["activation_bytes"]
    assert info.value.details["figures"]["activation_bytes"] == 9 * 520_000_000 + 4_000
    assert info.value.details["figures"]["params"] == 0


@pytest.mark.parametrize(
    ("limits", "error", "exceeded"),
    [
        ({"max_tensor_bytes": 47}, TensorBudgetExceeded, "largest_tensor_bytes"),
        ({"max_layers": 1}, LayerBudgetExceeded, "layers"),
        ({"max_input_elements": 3}, InputBudgetExceeded, "input_elements"),
        ({"max_input_bytes": 15}, InputBudgetExceeded, "input_bytes"),
        ({"max_activation_bytes": 35}, ActivationBudgetExceeded, "activation_bytes"),
        ({"max_params": 22}, ParameterBudgetExceeded, "params"),
    ],
)
def test_check_budgets_names_the_limit_that_fails(limits, error, exceeded):
    graph = resolved_spec(
        keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(2)]).to_json()
    )
    tight = BudgetLimits(**{**DEFAULT_BUDGETS.__dict__, **limits})
    with pytest.raises(error) as info:
        check_budgets(graph, tight)
    assert info.value.details["exceeded"] == [exceeded]


def test_check_budgets_passes_at_the_limits_exactly():
    graph = resolved_spec(
        keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(2)]).to_json()
    )
    exact = BudgetLimits(
        max_params=23, max_tensor_bytes=48, max_activation_bytes=36, max_layers=2,
        max_input_elements=4, max_input_bytes=16,
    )  # fmt: skip
    assert check_budgets(graph, exact).params == 23


@pytest.mark.parametrize("name", ["VGG16", "ResNet50"])
def test_default_budgets_let_vgg16_and_resnet50_through(name):
    model = getattr(keras.applications, name)(weights=None)
    figures = check_budgets(resolved_spec(model.to_json()), DEFAULT_BUDGETS)
    assert figures.params == model.count_params()
    expected = {"VGG16": (138_357_544, 411_041_792), "ResNet50": (25_636_712, 9_437_184)}
    assert (figures.params, figures.largest_tensor.bytes) == expected[name]
