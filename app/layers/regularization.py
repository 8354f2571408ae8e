"""Regularization layers: Dropout, SpatialDropout1D/2D/3D, GaussianDropout, GaussianNoise,
AlphaDropout, ActivityRegularization, and ConvNeXt's StochasticDepth.

None has weights: the random layers keep a `seed_generator` state variable, but it is not in
`layer.weights` and a `.keras` file does not store it. At inference every one is the identity.
"""

from __future__ import annotations

from dataclasses import replace

from app.graph import Shape
from app.layers.registry import Config, Traits, register, same_shape, single

FAMILY = "regularization"
PASSES_MASK = Traits(passes_mask=True)

SUMMARIES = {
    "Dropout": (
        "Inference: output = x; training: each element is 0 with probability rate, "
        "else x / (1 − rate)."
    ),
    "GaussianDropout": (
        "Inference: output = x; training: x · n, n ~ Normal(1, √(rate / (1 − rate)))."
    ),
    "GaussianNoise": "Inference: output = x; training: x + n, n ~ Normal(0, stddev).",
    "AlphaDropout": (
        "Inference: output = x; training: dropped elements set to −alpha·scale of SELU, then "
        "a · x + b to keep mean and variance."
    ),
    "ActivityRegularization": ("output = x; adds l1 · Σ|x| + l2 · Σx² to the training loss."),
}

for _name, _summary in SUMMARIES.items():
    register(_name, family=FAMILY, summary=_summary, traits=PASSES_MASK)(same_shape)

register(
    "StochasticDepth",
    family=FAMILY,
    summary=(
        "Inference: output = x; training: the whole residual branch of a sample is 0 with "
        "probability drop_path_rate, else x / (1 − drop_path_rate) (ConvNeXt)."
    ),
    modules=("keras.src.applications.convnext",),  # ConvNeXt's own: not in keras.layers
)(same_shape)


def _spatial_output(rank: int):
    def output_shape(config: Config, input_shapes: list) -> Shape:
        shape = single(input_shapes)
        if len(shape) != rank:
            raise ValueError(f"expected an input of rank {rank}, got {shape}")
        return shape

    return output_shape


# Keras 2 wrote the base layer's `trainable` and Dropout's `noise_shape`; Keras 3's
# SpatialDropout takes neither.
SPATIAL_DROPOUT = replace(PASSES_MASK, keras2_defaults={"trainable": True, "noise_shape": None})


for _dims in (1, 2, 3):
    register(
        f"SpatialDropout{_dims}D",
        family=FAMILY,
        summary=(
            "Inference: output = x; training: whole feature maps (channels) are 0 with "
            "probability rate, the others x / (1 − rate)."
        ),
        traits=SPATIAL_DROPOUT,
    )(_spatial_output(_dims + 2))
