"""SpectralNormalization: the registry's weights (count, order, roles) and output shapes
against what Keras builds."""

from __future__ import annotations

import pytest

from app.layers.registry import lookup
from tests.support.kerasref import layer_facts


def layer(class_name: str, **config) -> dict:
    return {"module": "keras.layers", "class_name": class_name, "config": config}


def registry_facts(config: dict, input_shapes: list) -> dict:
    entry = lookup("SpectralNormalization")
    return {
        "weights": [(s.name, s.shape, s.trainable) for s in entry.weights(config, input_shapes)],
        "output_shape": entry.output_shape(config, input_shapes),
    }


SPECTRAL_CASES = [
    ({"layer": layer("Dense", units=4, name="d")}, [(None, 3)]),
    ({"layer": layer("Dense", units=4, use_bias=False, name="d")}, [(None, 5, 3)]),
    ({"layer": layer("Conv2D", filters=4, kernel_size=3, name="c")}, [(None, 8, 8, 3)]),
    (
        {"layer": layer("Conv1D", filters=2, kernel_size=2, name="c"), "power_iterations": 3},
        [(2, 6, 5)],
    ),
    ({"layer": layer("Embedding", input_dim=10, output_dim=4, name="e")}, [(None, 5)]),
    ({"layer": layer("Conv2DTranspose", filters=3, kernel_size=2, name="t")}, [(None, 4, 4, 2)]),
]


@pytest.mark.parametrize(("config", "shapes"), SPECTRAL_CASES)
def test_spectral_normalization_matches_keras(config, shapes):
    assert registry_facts(config, shapes) == layer_facts("SpectralNormalization", config, shapes)


def test_spectral_normalization_weights_by_hand():
    # Dense(3 → 4): kernel 3·4, then vector_u (1, 4) (non-trainable), then bias 4: 20 in all.
    facts = registry_facts(*SPECTRAL_CASES[0])
    assert facts["weights"] == [
        ("d/kernel", (3, 4), True),
        ("vector_u", (1, 4), False),
        ("d/bias", (4,), True),
    ]
    specs = lookup("SpectralNormalization").weights(*SPECTRAL_CASES[0])
    assert [s.owner for s in specs] == ["layer", "", "layer"]


def test_spectral_normalization_of_a_layer_without_kernel_is_refused():
    config = {"layer": layer("BatchNormalization", name="bn")}
    with pytest.raises(ValueError):
        lookup("SpectralNormalization").weights(config, [(None, 3)])
