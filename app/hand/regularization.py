"""Regularization layers by hand: the dropouts, the noises, ActivityRegularization,
StochasticDepth — all the identity at inference."""

from __future__ import annotations

from app.hand.rules import Facts, Hand, hand, number
from app.hand.rules import settings as line

IDENTITY = (
    "At inference (predict, or training=False) the layer is the identity: nothing is dropped "
    "and nothing is rescaled (Keras scales the kept values by 1 / (1 − rate) during training "
    "instead)."
)


@hand(
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "AlphaDropout",
    "GaussianDropout",
    "StochasticDepth",
)
def dropout(facts: Facts) -> Hand:
    rate = facts.get("rate", facts.get("drop_rate"))
    return Hand(
        settings=line(f"rate {number(rate)}" if rate is not None else None),
        formula="y = x",
        conventions=(IDENTITY,),
    )


@hand("GaussianNoise")
def gaussian_noise(facts: Facts) -> Hand:
    return Hand(
        settings=line(f"stddev {number(facts.get('stddev', 0))}"),
        formula="y = x",
        conventions=(
            "The noise is added in training only: at inference the layer is the identity.",
        ),
    )


@hand("ActivityRegularization")
def activity_regularization(facts: Facts) -> Hand:
    return Hand(
        settings=line(f"l1 {number(facts.get('l1', 0.0))}", f"l2 {number(facts.get('l2', 0.0))}"),
        formula="y = x",
        conventions=("l1 and l2 only add a loss in training; the output is the input.",),
    )
