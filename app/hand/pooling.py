"""Pooling layers by hand: Max/Average pooling, their global and adaptive forms."""

from __future__ import annotations

from app.hand.convolution import padding_convention
from app.hand.rules import Facts, Hand, compact, data_format, hand
from app.hand.rules import settings as line


def rank_of(facts: Facts) -> int:
    return int(facts.class_name.rstrip("D")[-1])


def window(facts: Facts) -> tuple[int, object, object]:
    rank = rank_of(facts)
    pool = facts.get("pool_size", 2)
    strides = facts.get("strides") or pool
    return rank, pool, strides


def window_facts(facts: Facts, pool: object, strides: object) -> Facts:
    """The facts with pooling's keys under convolution's names, for the padding rule."""
    config = {**facts.config, "kernel_size": pool, "strides": strides}
    return Facts(facts.class_name, config, facts.input_shapes, facts.output_shape)


def window_settings(facts: Facts, rank: int, pool: object, strides: object) -> str:
    """A pooling window's settings line: pool_size, strides, padding, data_format."""
    return line(
        f"pool_size {compact(pool, rank)}",
        f"strides {compact(strides, rank)}",
        f"padding {facts.get('padding', 'valid')}",
        data_format(facts),
    )


@hand("MaxPooling1D", "MaxPooling2D", "MaxPooling3D")
def max_pooling(facts: Facts) -> Hand:
    rank, pool, strides = window(facts)
    return Hand(
        settings=window_settings(facts, rank, pool, strides),
        formula="y[n, …, c] = max of x[n, window, c], one window per output position",
        conventions=(*padding_convention(window_facts(facts, pool, strides), rank, "−∞"),),
    )


@hand("AveragePooling1D", "AveragePooling2D", "AveragePooling3D")
def average_pooling(facts: Facts) -> Hand:
    rank, pool, strides = window(facts)
    return Hand(
        settings=window_settings(facts, rank, pool, strides),
        formula="y[n, …, c] = mean of x[n, window, c], one window per output position",
        conventions=(
            "With padding same the mean counts only the input positions inside the window, "
            "never the padding (TensorFlow's rule; PyTorch counts them by default).",
            *padding_convention(window_facts(facts, pool, strides), rank, "positions left out"),
        ),
    )


def global_pool(facts: Facts, reduce: str) -> Hand:
    keepdims = bool(facts.get("keepdims", False))
    return Hand(
        settings=line("keepdims" if keepdims else None, data_format(facts)),
        formula=f"y[n, c] = {reduce} of x[n, …, c] over every spatial position"
        + (" (spatial axes kept, size 1)" if keepdims else ""),
    )


@hand("GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D")
def global_max_pooling(facts: Facts) -> Hand:
    return global_pool(facts, "max")


@hand("GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D")
def global_average_pooling(facts: Facts) -> Hand:
    hand_ = global_pool(facts, "mean")
    if facts.class_name.endswith("1D"):
        masked = ("With a mask (Embedding mask_zero), the mean of the kept timesteps only.",)
        return Hand(hand_.settings, hand_.formula, masked)
    return hand_


@hand(
    "AdaptiveMaxPooling1D",
    "AdaptiveMaxPooling2D",
    "AdaptiveMaxPooling3D",
    "AdaptiveAveragePooling1D",
    "AdaptiveAveragePooling2D",
    "AdaptiveAveragePooling3D",
)
def adaptive_pooling(facts: Facts) -> Hand:
    reduce = "max" if "Max" in facts.class_name else "mean"
    size = facts.get("output_size", "?")
    return Hand(
        settings=line(f"output_size {size}", data_format(facts)),
        formula=f"y[n, o, c] = {reduce} of x[n, ⌊o·L/out⌋ … ⌈(o+1)·L/out⌉ − 1, c] per spatial axis",
        conventions=(
            "Windows of neighbouring outputs may overlap when L is not a multiple of out.",
        ),
    )
