"""Does a kernel look untrained? Its statistics against those of the initializer its config
names, at its own fan-in and fan-out (keras/src/initializers/random_initializers.py).

What a fresh draw gives, per initializer (s: the variance-scaling `scale` over n, n = fan_in,
fan_out or their mean by `mode`; fans as Keras' `compute_fans`: a conv kernel's receptive
field times its input or output channels, or `input_axes`/`output_axes` when the config names
them):

    uniform(a, b)                          mean (a+b)/2, std (b−a)/√12,      |w − mean| ≤ (b−a)/2
    normal(mean, σ)                        mean, std σ,                        unbounded
    truncated normal(mean, σ)              mean, std 0.8796·σ,                 |w − mean| ≤ 2σ
    variance scaling, uniform              0, std √s,                          |w| ≤ √(3s)
    variance scaling, truncated_normal     0, std √s (σ = √s / 0.8796),        |w| ≤ 2σ
    variance scaling, untruncated_normal   0, std √s,                          unbounded
    zeros, ones, constant(c)               every value c

glorot_* are variance scaling with scale 1 over fan_avg, he_* scale 2 over fan_in, lecun_*
scale 1 over fan_in. A kernel matches when its layer's bias (if it has one, with a constant
initializer) still holds its initial value — a bias that moved shows the layer was trained,
however little its kernel moved — and when none of its values is outside the bound (the
strong test: training moves the values near the bound past it almost surely), its std is
within SIGMAS standard errors of the expected std (the standard error of a sample std is at
most 0.71·σ/√n for these distributions: a normal's, the widest) and its mean within SIGMAS
standard errors of the expected mean. Tensors of fewer than MIN_VALUES values are not tested
(MIN_VALUES_UNBOUNDED for a normal, which has no bound to test): the test has little power
there. Orthogonal, identity and initializers this module does not know are not tested.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.analysis.initializers import CONFIG_KEYS, TRUNCATED_STD, initial_value, initializer_for
from app.graph import LayerNode, WeightRef
from app.schemas import WeightStats

TESTED_ROLES = ("kernel", "depthwise_kernel", "pointwise_kernel", "embeddings")
MIN_VALUES = 256
MIN_VALUES_UNBOUNDED = 4096
SIGMAS = 6.0
STD_ERROR = 0.71  # the std of a sample std, in σ/√n: a normal's √(1/2), a uniform's 0.45
# A normal has no bound: its largest |z| among n draws stays under √(2·ln(n / MISS)) but
# with probability about MISS.
MISS = 1e-6
# variance-scaling initializers by name: (scale, mode, distribution)
SCALED = {
    "glorot_uniform": (1.0, "fan_avg", "uniform"),
    "glorot_normal": (1.0, "fan_avg", "truncated_normal"),
    "he_uniform": (2.0, "fan_in", "uniform"),
    "he_normal": (2.0, "fan_in", "truncated_normal"),
    "lecun_uniform": (1.0, "fan_in", "uniform"),
    "lecun_normal": (1.0, "fan_in", "truncated_normal"),
}
CONSTANTS = {"zeros": 0.0, "ones": 1.0}
CONSTANT_NAMES = ("zeros", "ones", "constant")


@dataclass(frozen=True)
class Expected:
    """What a fresh draw of one initializer gives for one shape."""

    label: str  # `glorot_uniform (fan_in 27, fan_out 32)`
    mean: float
    std: float
    bound: float | None  # the largest |w − mean| it draws; None: unbounded


def untrained_kernels(
    candidates: Iterable[tuple[LayerNode, WeightRef, WeightStats]],
    known: Mapping[int, WeightStats],
) -> dict[int, str]:
    """id() of each weight among `candidates` that looks like a fresh draw of its initializer
    → the evidence, in a sentence that names the initializer. `known`: every weight's
    statistics by id() (a zeros bias is judged by them, not read again). One call for the
    whole model."""
    found = {}
    for node, weight, stats in candidates:
        evidence = looks_untrained(node, weight, stats, known)
        if evidence is not None:
            found[id(weight)] = evidence
    return found


def looks_untrained(
    node: LayerNode, weight: WeightRef, stats: WeightStats, known: Mapping[int, WeightStats]
) -> str | None:
    """The evidence that `weight` holds its initializer's draw; None when it does not look
    so, or cannot be tested."""
    if weight.role not in TESTED_ROLES or stats.nan or stats.inf or stats.std is None:
        return None
    name, cfg = initializer_for(node, weight, weight.role)
    try:
        expected = expected_draw(name, cfg, weight.shape)
    except (TypeError, ValueError, ZeroDivisionError):  # a config's own values, not numbers
        return None
    n = weight.count
    if expected is None or n < (MIN_VALUES if expected.bound is not None else MIN_VALUES_UNBOUNDED):
        return None
    evidence = _evidence(stats, n, expected, _slack(weight.dtype))
    if evidence is None or bias_moved(node, weight, known):
        return None
    key = CONFIG_KEYS[weight.role][0]
    return f"its values look like a fresh draw of its {key} ({name}): {evidence}"


def bias_moved(node: LayerNode, weight: WeightRef, known: Mapping[int, WeightStats]) -> bool:
    """Whether the bias beside `weight` (same owner in the layer) left the constant its
    initializer gives (zeros, or an LSTM's unit_forget_bias): then the layer was trained,
    however little its kernel moved. Read only for a kernel that looks untrained, and not
    at all for a zeros bias whose statistics (`known`) count its zeros."""
    owner = weight.name.rpartition("/")[0]
    for bias in node.weights:
        if bias.role != "bias" or bias.values is None or bias.name.rpartition("/")[0] != owner:
            continue
        if initializer_for(node, bias, "bias")[0] not in CONSTANT_NAMES:
            return False  # a random start: nothing to compare with
        start = initial_value(node, bias, 0)
        stats = known.get(id(bias))
        if stats is not None and not np.any(start):
            return stats.zeros != bias.count
        return not np.array_equal(np.asarray(bias.values[...]).reshape(start.shape), start)
    return False


def expected_draw(name: str, cfg: dict[str, Any], shape: tuple[int, ...]) -> Expected | None:
    """What the initializer `name` (snake_case) with config `cfg` draws for `shape`."""
    if name in CONSTANTS or name == "constant":
        value = float(cfg.get("value", 0.0)) if name == "constant" else CONSTANTS[name]
        return Expected(f"{name} ({_num(value)})", value, 0.0, 0.0)
    if name == "random_uniform":
        low, high = float(cfg.get("minval", -0.05)), float(cfg.get("maxval", 0.05))
        label = f"random_uniform ({_num(low)} to {_num(high)})"
        return Expected(label, (low + high) / 2, (high - low) / math.sqrt(12), (high - low) / 2)
    if name in ("random_normal", "truncated_normal"):
        mean, stddev = float(cfg.get("mean", 0.0)), float(cfg.get("stddev", 0.05))
        label = f"{name} (mean {_num(mean)}, stddev {_num(stddev)})"
        if name == "random_normal":
            return Expected(label, mean, stddev, None)
        return Expected(label, mean, stddev * TRUNCATED_STD, 2 * stddev)
    if name in SCALED or name == "variance_scaling":
        scale, mode, distribution = SCALED.get(name) or (
            float(cfg.get("scale", 1.0)),
            str(cfg.get("mode", "fan_in")),
            str(cfg.get("distribution", "truncated_normal")).lower(),
        )
        return _scaled(name, shape, cfg, scale, mode, distribution)
    return None


def _scaled(
    name: str, shape: tuple[int, ...], cfg: dict, scale: float, mode: str, distribution: str
) -> Expected | None:
    fan_in, fan_out = fans(shape, cfg.get("input_axes"), cfg.get("output_axes"))
    n = {"fan_in": fan_in, "fan_out": fan_out}.get(mode, (fan_in + fan_out) / 2)
    variance = scale / max(1.0, n)
    label = f"{name} (fan_in {fan_in:,}, fan_out {fan_out:,})"
    std = math.sqrt(variance)
    if distribution == "uniform":
        return Expected(label, 0.0, std, math.sqrt(3 * variance))
    if distribution in ("truncated_normal", "normal"):  # Keras reads `normal` as truncated
        return Expected(label, 0.0, std, 2 * std / TRUNCATED_STD)
    if distribution == "untruncated_normal":
        return Expected(label, 0.0, std, None)
    return None


def fans(shape: tuple[int, ...], input_axes: Any = None, output_axes: Any = None) -> tuple:
    """Keras' `compute_fans`: (fan_in, fan_out); a conv kernel (..., in, out) counts its
    receptive field; `input_axes` and `output_axes`, when given, name the axes."""
    if isinstance(input_axes, list) and isinstance(output_axes, list):
        return math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes)
    if not shape:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _evidence(stats: WeightStats, n: int, expected: Expected, slack: float) -> str | None:
    assert stats.min is not None and stats.max is not None and stats.mean is not None
    assert stats.std is not None
    spread = max(abs(stats.min - expected.mean), abs(stats.max - expected.mean))
    if expected.std == 0.0:
        exact = stats.min == stats.max == expected.mean
        return f"all {n:,} values are {_num(expected.mean)}" if exact else None
    bound = expected.bound
    if bound is None:
        bound = expected.std * math.sqrt(2 * math.log(n / MISS))
    if spread > bound * (1 + slack) + slack * abs(expected.mean):
        return None
    std_tolerance = SIGMAS * STD_ERROR / math.sqrt(n)
    if abs(stats.std / expected.std - 1) > std_tolerance + slack:
        return None
    if abs(stats.mean - expected.mean) > SIGMAS * expected.std / math.sqrt(n):
        return None
    bounded = " (the bound of the draw)" if expected.bound is not None else ""
    return (
        f"all {n:,} values within ±{_num(bound)} of {_num(expected.mean)}{bounded}, "
        f"std {_num(stats.std)} against {_num(expected.std)} expected (within the "
        f"{100 * std_tolerance:.2g}% that {n:,} draws allow), mean {_num(stats.mean)}"
    )


def _slack(dtype: str) -> float:
    """Rounding room for a value drawn in `dtype`: a few units in the last place."""
    try:
        return 8 * float(np.finfo(np.dtype(dtype)).eps)
    except TypeError:
        return 1e-2  # bfloat16 and other dtypes NumPy does not know: theirs is coarse


def _num(value: float) -> str:
    return f"{float(value):.4g}"
