"""Core layers: Dense, EinsumDense, Embedding, Masking, Identity, InputLayer-adjacent basics."""

from __future__ import annotations

from app.layers.registry import Config, WeightSpec, register, single


def dense_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """kernel (input_dim, units), then bias (units,) when use_bias."""
    units = int(config["units"])
    weights = [WeightSpec("kernel", "kernel", (single(input_shapes)[-1], units))]
    if config.get("use_bias", True):
        weights.append(WeightSpec("bias", "bias", (units,)))
    return weights


@register(
    "Dense",
    family="core",
    summary="output = activation(inputs · kernel + bias), over the last axis.",
    weights=dense_weights,
)
def dense_output(config: Config, input_shapes: list) -> tuple:
    return (*single(input_shapes)[:-1], int(config["units"]))
