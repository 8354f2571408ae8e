"""Weight health findings on models built here with Keras: fresh against trained a few steps,
NaN weights, dead channels, identical filters; read back with our own reader."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.health import health_findings, identical_channels, weight_scans
from app.analysis.resolve import resolve
from app.formats import read_model
from app.graph import WeightRef
from tests.support.kerasref import keras

L = keras.layers


def findings_of(model, path):
    """Our findings for `model` saved as a .keras file: (code, layer, weight) → finding."""
    model.save(path)
    with read_model(path) as loaded:
        resolve(loaded.graph, weights_in_file=True)
        found = health_findings(loaded.graph, weight_scans(loaded.graph))
    return {(f.code, f.layer, f.weight): f for f in found}


def codes(found, code):
    return sorted((layer, weight) for c, layer, weight in found if c == code)


def convnet(initializer="glorot_uniform", seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            L.Conv2D(16, 3, kernel_initializer=initializer, name="conv"),
            L.Flatten(),
            L.Dense(32, activation="relu", kernel_initializer=initializer, name="hidden"),
            L.Dense(4, name="head"),  # 128 values: too few to test
        ]
    )


def trained(model, steps=10, seed=0):
    """`steps` Adam steps (learning rate 1e-3) on one batch of random data."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((16, *model.input_shape[1:])).astype("float32")
    y = rng.standard_normal((16, *model.output_shape[1:])).astype("float32")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    for _ in range(steps):
        model.train_on_batch(x, y)
    return model


@pytest.mark.parametrize(
    "initializer",
    [
        "glorot_uniform",
        "glorot_normal",
        "he_uniform",
        "he_normal",
        "lecun_uniform",
        "lecun_normal",
        keras.initializers.RandomUniform(-0.3, 0.1),
        keras.initializers.TruncatedNormal(mean=0.2, stddev=0.1),
        keras.initializers.VarianceScaling(0.5, "fan_out", "uniform"),
    ],
    ids=str,
)
def test_a_fresh_kernel_looks_untrained_for_each_initializer(tmp_path, initializer):
    found = findings_of(convnet(initializer), tmp_path / "fresh.keras")
    # conv: 3·3·3·16 = 432 values, hidden: 576·32 = 18,432; head: 128 (< 256, not tested)
    assert codes(found, "looks-untrained") == [("conv", "kernel"), ("hidden", "kernel")]
    assert codes(found, "bias-all-zero") == [("conv", "bias"), ("head", "bias"), ("hidden", "bias")]


def test_a_fresh_random_normal_kernel_is_tested_only_when_large(tmp_path):
    """A normal has no bound: the std alone decides, from 4,096 values up."""
    found = findings_of(convnet(keras.initializers.RandomNormal(0.0, 0.2)), tmp_path / "n.keras")
    assert codes(found, "looks-untrained") == [("hidden", "kernel")]  # 18,432 values


def test_kernels_trained_a_few_steps_do_not_look_untrained(tmp_path):
    model = trained(convnet())
    conv, hidden = model.get_weights()[0], model.get_weights()[2]
    # ten steps of 1e-3 took values past glorot_uniform's limits, √(6 / (27 + 144)) and
    # √(6 / (576 + 32)), by more than 1% (by Keras' own numbers: 3% and 10% on this seed)
    assert np.abs(conv).max() > 1.01 * np.sqrt(6 / 171)
    assert np.abs(hidden).max() > 1.01 * np.sqrt(6 / 608)
    found = findings_of(model, tmp_path / "trained.keras")
    assert codes(found, "looks-untrained") == []
    assert codes(found, "bias-all-zero") == []


def test_the_evidence_names_the_initializer_its_fans_and_bound(tmp_path):
    found = findings_of(convnet(), tmp_path / "fresh.keras")
    message = found[("looks-untrained", "conv", "kernel")].message
    # glorot_uniform, fan_in 3·3·3 = 27, fan_out 3·3·16 = 144: limit √(6 / 171) = 0.1873
    assert "glorot_uniform" in message
    assert "all 432 values within ±0.1873 of 0" in message


def test_a_kernel_with_nan_and_inf_is_a_finding_not_a_crash(tmp_path):
    model = convnet()
    weights = model.get_weights()
    weights[2][0, :3] = np.nan
    weights[2][1, 0] = -np.inf
    model.set_weights(weights)
    found = findings_of(model, tmp_path / "nan.keras")
    message = found[("not-finite", "hidden", "kernel")].message
    assert message.startswith("3 NaN and 1 ±Inf among its 18,432 values")
    assert ("looks-untrained", "hidden", "kernel") not in found  # not tested with NaN


def bn_relu(gamma, beta, activation):
    model = keras.Sequential(
        [keras.Input((4,)), L.Dense(3, name="dense"), L.BatchNormalization(name="bn"), activation]
    )
    bn = model.get_layer("bn")
    bn.set_weights([np.array(gamma, "float32"), np.array(beta, "float32"), *bn.get_weights()[2:]])
    return model


@pytest.mark.parametrize(
    "activation",
    [L.ReLU(name="relu"), L.Activation("relu", name="relu"), L.Activation("relu6", name="relu")],
    ids=["ReLU", "Activation relu", "Activation relu6"],
)
def test_dead_channels_are_gamma_zero_and_beta_at_most_zero_before_a_relu(tmp_path, activation):
    # channel 0: gamma 0, beta −1 → dead; 1: gamma 0, beta 0 → dead (relu(0) = 0);
    # 2: gamma 0, beta 0.5 → always 0.5, alive
    model = bn_relu([0.0, 0.0, 0.0], [-1.0, 0.0, 0.5], activation)
    x = np.random.default_rng(0).standard_normal((64, 4)).astype("float32") * 100
    out = model.predict(x, verbose=0)
    assert np.all(out[:, :2] == 0) and np.all(out[:, 2] == 0.5)  # what we claim, by Keras
    found = findings_of(model, tmp_path / "dead.keras")
    dead = found[("dead-channels", "bn", None)]
    assert dead.channels == [0, 1]
    assert "2 of its 3 channels are dead" in dead.message


def test_a_small_nonzero_gamma_or_another_activation_is_not_dead(tmp_path):
    tiny = bn_relu([1e-30, 0.0, 1.0], [-1.0, -1.0, -1.0], L.Activation("tanh", name="tanh"))
    assert codes(findings_of(tiny, tmp_path / "tanh.keras"), "dead-channels") == []
    leaky = bn_relu([0.0, 1.0, 1.0], [-1.0, 0.0, 0.0], L.ReLU(negative_slope=0.1, name="leaky"))
    assert codes(findings_of(leaky, tmp_path / "leaky.keras"), "dead-channels") == []
    near = bn_relu([1e-30, 1.0, 1.0], [-1.0, 0.0, 0.0], L.ReLU(name="relu"))
    assert codes(findings_of(near, tmp_path / "near.keras"), "dead-channels") == []


def test_identical_filters_are_found_bit_for_bit_and_zero_filters_are_not(tmp_path):
    model = trained(convnet())
    weights = model.get_weights()
    kernel = weights[0]  # conv (3, 3, 3, 16)
    kernel[..., 5] = kernel[..., 2]
    kernel[..., 9] = kernel[..., 2]
    kernel[..., 11] = kernel[..., 7]
    kernel[..., 12] = 0.0
    kernel[..., 13] = 0.0
    weights[2][:, 4] = weights[2][:, 3] * 1.0000001  # hidden: nearly, not bit for bit
    model.set_weights(weights)
    found = findings_of(model, tmp_path / "copies.keras")
    finding = found[("identical-filters", "conv", "kernel")]
    assert finding.channels == [2, 5, 9, 7, 11]
    assert "5 of its 16 output channels are copies" in finding.message
    assert "2 = 5 = 9, 7 = 11" in finding.message
    assert codes(found, "identical-filters") == [("conv", "kernel")]


def test_identical_filters_of_a_transposed_convolution_are_along_its_filters_axis(tmp_path):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4, 4, 3)), L.Conv2DTranspose(6, 3, name="up")])
    kernel, bias = model.get_weights()  # (3, 3, 6, 3): filters on axis -2
    kernel[:, :, 4, :] = kernel[:, :, 1, :]
    model.set_weights([kernel, bias])
    found = findings_of(model, tmp_path / "up.keras")
    assert found[("identical-filters", "up", "kernel")].channels == [1, 4]


def test_channel_keys_that_collide_are_compared_by_value():
    """Keys are sums of bit patterns: a permuted channel has the same key, not the same
    values, and is not reported."""
    kernel = np.array([[1.0, 2.0, 1.0], [2.0, 1.0, 2.0]], dtype=np.float32)  # 0 ≠ 1 (permuted)
    weight = WeightRef("kernel", "kernel", kernel.shape, "float32", True, values=kernel)
    bits = kernel.view(np.uint32).astype(np.uint64).sum(axis=0)
    assert bits[0] == bits[1]  # the collision
    assert identical_channels(weight, bits, -1) == [[0, 2]]


def test_an_initializer_config_that_is_not_an_object_is_read_as_none():
    """A hostile file may write any JSON value as an initializer's config (here the function
    reference of tests/support/hostile.py): it is read as no config, never as a crash."""
    from app.analysis.initializers import parse_initializer

    hostile = {"module": "os", "class_name": "function", "config": "system"}
    assert parse_initializer(hostile) == ("function", {})
    assert parse_initializer({"class_name": "RandomUniform", "config": [1, 2]}) == (
        "random_uniform",
        {},
    )


def test_weight_scans_on_threads_give_each_weight_its_own_pass_in_model_order(tmp_path):
    """Shared among threads, each weight's scan is still that weight's one pass (statistics
    checked against NumPy's own over the values Keras holds), listed in model order."""
    model = trained(convnet(), steps=2)
    model.save(tmp_path / "m.keras")
    with read_model(tmp_path / "m.keras") as loaded:
        resolve(loaded.graph, weights_in_file=True)
        scans = weight_scans(loaded.graph)
        stored = [w for _, n in loaded.graph.walk() for w in n.weights if w.values is not None]
    assert list(scans) == [id(w) for w in stored]
    assert [w.name for w in stored] == [v.path.rsplit("/", 1)[-1] for v in model.weights]
    for weight, values in zip(stored, model.get_weights(), strict=True):
        stats = scans[id(weight)].stats
        assert stats.min == float(values.min()) and stats.max == float(values.max())
        assert stats.mean == pytest.approx(float(values.astype(np.float64).mean()), abs=1e-12)
        assert stats.std == pytest.approx(float(values.astype(np.float64).std()), rel=1e-6)
    conv = scans[id(stored[0])]
    assert conv.channel_keys is not None and conv.channel_keys.shape == (16,)
