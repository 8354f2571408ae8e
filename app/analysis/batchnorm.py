"""Every BatchNormalization layer explained with its own numbers.

Inference (keras/src/layers/normalization/batch_normalization.py):
    y = gamma · (x − moving_mean) / √(moving_variance + epsilon) + beta
      = scale · x + shift,  scale = gamma / √(moving_variance + epsilon),
                            shift = beta − moving_mean · scale
Training: the batch's mean and variance over every axis but `axis` replace the moving ones,
and moving_x ← momentum · moving_x + (1 − momentum) · batch_x.

Folded values are computed in float32, as Keras computes them for a float32 model.

A spec carries no weights: its values are the initializers' constants, held as one value
broadcast over the channels (`np.broadcast_to`), so a spec's BatchNormalization of 50 million
channels costs a few bytes here, not gigabytes; a constant is folded and tested once.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from app.analysis.stats import row_stats, weight_stats
from app.graph import LayerNode, ModelGraph, WeightRef
from app.layers.registry import names_of
from app.schemas import BatchNormReport, BatchNormWeight, ChannelValues, Finding, WeightStats

BN_CLASSES = names_of("BatchNormalization")  # with its alias SyncBatchNormalization
ROLES = ("gamma", "beta", "moving_mean", "moving_variance")
DEFAULT_VALUES = {"gamma": 1.0, "beta": 0.0, "moving_mean": 0.0, "moving_variance": 1.0}
INITIALIZER_KEYS = {
    "gamma": "gamma_initializer",
    "beta": "beta_initializer",
    "moving_mean": "moving_mean_initializer",
    "moving_variance": "moving_variance_initializer",
}
CHANNELS_LISTED = 4096
GAMMA_NEAR_ZERO = 1e-3
KERAS_DEFAULT_EPSILON = 1e-3


def batchnorm_reports(
    graph: ModelGraph, channels_listed: int = CHANNELS_LISTED
) -> list[BatchNormReport]:
    """Every BatchNormalization layer's; at most `channels_listed` channels' values listed."""
    return [
        explain_layer(parents, node, channels_listed)
        for parents, node in graph.walk()
        if node.class_name in BN_CLASSES and node.weights
    ]


def explain_layer(
    parents: tuple[str, ...], node: LayerNode, channels_listed: int = CHANNELS_LISTED
) -> BatchNormReport:
    cfg = node.config
    epsilon = float(cfg.get("epsilon", KERAS_DEFAULT_EPSILON))
    by_role = {w.role: w for w in node.weights}
    channels = int(math.prod(node.weights[0].shape))
    from_file = all(w.values is not None for w in node.weights)
    values = {role: _channel_array(role, by_role.get(role), cfg, channels) for role in ROLES}
    scale, shift = fold(values, epsilon)
    return BatchNormReport(
        layer=node.name,
        path=list(parents),
        axis=cfg.get("axis", -1),
        channels=channels,
        epsilon=epsilon,
        momentum=float(cfg.get("momentum", 0.99)),
        center=bool(cfg.get("center", True)),
        scale=bool(cfg.get("scale", True)),
        trainable=node.trainable_flag,
        weights=[_bn_weight(w) for w in node.weights],
        set_weights_order=[w.role for w in node.weights],
        values_from="file" if from_file else "initializers",
        inference_formula=inference_formula(node, epsilon, channels),
        worked_example=worked_example(values, scale, shift, epsilon),
        training_formula=training_formula(cfg),
        channel_stats=_channel_stats(values, scale, shift),
        channel_values=_channel_values(values, scale, shift, channels_listed),
        findings=findings(node, values, epsilon, from_file),
    )


def fold(values: dict[str, np.ndarray], epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """scale = gamma / √(moving_variance + epsilon); shift = beta − moving_mean · scale."""
    channels = values["gamma"].size
    g, b, m, v = (_compact(values[role]) for role in ROLES)
    eps = np.float32(epsilon)
    scale = (g / np.sqrt(v + eps)).astype(np.float32)
    shift = (b - m * scale).astype(np.float32)
    return _spread(scale, channels), _spread(shift, channels)


def _channel_array(role: str, weight: WeightRef | None, cfg: dict, channels: int) -> np.ndarray:
    if weight is not None and weight.values is not None:
        return np.asarray(weight.values[...], dtype=np.float32).reshape(-1)
    return np.broadcast_to(np.float32(initial_value(role, cfg)), (channels,))


def _constant(array: np.ndarray) -> bool:
    """One value broadcast over every channel (an initializer's, or folded from them)."""
    return array.size > 0 and array.strides == (0,)


def _compact(array: np.ndarray) -> np.ndarray:
    return array[:1] if _constant(array) else array


def _spread(array: np.ndarray, channels: int) -> np.ndarray:
    return np.broadcast_to(array, (channels,)) if array.size == 1 else array


def _channels_where(test: Any, array: np.ndarray) -> tuple[int, list[int]]:
    """How many channels pass `test`, and the first CHANNELS_LISTED of them; a constant array
    is tested once."""
    if _constant(array):
        hit = bool(test(array[:1])[0])
        return (array.size, list(range(min(array.size, CHANNELS_LISTED)))) if hit else (0, [])
    found = np.flatnonzero(test(array))
    return int(found.size), found[:CHANNELS_LISTED].tolist()


def initial_value(role: str, cfg: dict[str, Any]) -> float:
    """What the layer's initializer gives: Ones 1, Zeros 0, Constant its value; gamma absent
    (scale=False) acts as 1 and beta absent (center=False) as 0."""
    init = cfg.get(INITIALIZER_KEYS[role])
    name = init.get("class_name") if isinstance(init, dict) else init
    if name in ("Ones", "ones"):
        return 1.0
    if name in ("Zeros", "zeros"):
        return 0.0
    if name in ("Constant", "constant") and isinstance(init, dict):
        value = (init.get("config") or {}).get("value")
        if isinstance(value, int | float):
            return float(value)
    return DEFAULT_VALUES[role]


def inference_formula(node: LayerNode, epsilon: float, channels: int) -> str:
    have = {w.role for w in node.weights}
    gamma = "gamma[c] · " if "gamma" in have else ""
    beta = " + beta[c]" if "beta" in have else ""
    axis = node.config.get("axis", -1)
    return (
        f"y[c] = {gamma}(x[c] − moving_mean[c]) / √(moving_variance[c] + {_num(epsilon)}){beta}"
        f", for each of the {channels:,} channels c along axis {axis}"
    )


def worked_example(
    values: dict[str, np.ndarray], scale: np.ndarray, shift: np.ndarray, epsilon: float
) -> str:
    g, b = values["gamma"][0], values["beta"][0]
    m, v = values["moving_mean"][0], values["moving_variance"][0]
    sign = "−" if shift[0] < 0 else "+"
    return (
        f"channel 0: y = {_num(g)} · (x − {_num(m)}) / √({_num(v)} + {_num(epsilon)}) + {_num(b)}"
        f" = {_num(scale[0])} · x {sign} {_num(abs(shift[0]))}"
    )


def training_formula(cfg: dict[str, Any]) -> str:
    momentum = float(cfg.get("momentum", 0.99))
    return (
        "In training mode (fit, or calling the layer with training=True) the layer normalizes with "
        "the batch's own statistics: y = gamma · (x − mean_batch) / √(var_batch + epsilon) + beta, "
        "mean and variance taken over every axis but the channel axis. It then updates "
        f"moving_mean ← {_num(momentum)} · moving_mean + {_num(1 - momentum)} · mean_batch, and "
        "moving_variance likewise. A layer frozen with trainable=False runs in inference mode "
        "even inside fit (Keras 3)."
    )


def findings(
    node: LayerNode, values: dict[str, np.ndarray], epsilon: float, from_file: bool
) -> list[Finding]:
    found = []
    if not from_file:
        found.append(_initial_values_finding(epsilon))
    elif _never_trained(values):
        found.append(_never_trained_finding(epsilon))
    found += _channel_findings(values, epsilon)
    if epsilon != KERAS_DEFAULT_EPSILON:
        found.append(
            Finding(
                code="non-default-epsilon",
                message=(
                    f"epsilon is {_num(epsilon)}, not Keras' default 0.001: a hand-written or "
                    "ported forward pass must use this value."
                ),
            )
        )
    if not node.trainable_flag:
        found.append(
            Finding(
                code="frozen",
                message=(
                    "The layer is frozen (trainable=False): gamma and beta count as non-trainable, "
                    "and Keras 3 runs it in inference mode even during fit."
                ),
            )
        )
    return found


def _never_trained(values: dict[str, np.ndarray]) -> bool:
    mean, variance = _compact(values["moving_mean"]), _compact(values["moving_variance"])
    return bool(np.all(mean == 0) and np.all(variance == 1))


def _never_trained_finding(epsilon: float) -> Finding:
    factor = 1 / np.sqrt(np.float32(1 + epsilon))
    return Finding(
        code="never-trained",
        message=(
            "moving_mean is all 0 and moving_variance all 1: the initial values. This layer's "
            "statistics were never updated by training, so at inference it computes "
            f"gamma · x / √(1 + {_num(epsilon)}) + beta — with gamma 1 and beta 0 that is "
            f"{_num(factor)} · x, the classic 0.9995 surprise."
        ),
    )


def _initial_values_finding(epsilon: float) -> Finding:
    factor = 1 / np.sqrt(np.float32(1 + epsilon))
    return Finding(
        code="initial-values",
        message=(
            "A spec carries no weights: the values shown are what the initializers give "
            f"(moving_mean 0, moving_variance 1, gamma 1, beta 0 by default). A fresh layer "
            f"outputs x / √(1 + {_num(epsilon)}) = {_num(factor)} · x at inference."
        ),
    )


def _channel_findings(values: dict[str, np.ndarray], epsilon: float) -> list[Finding]:
    found = _not_finite_findings(values)
    dead, listed = _channels_where(lambda g: np.abs(g) < GAMMA_NEAR_ZERO, values["gamma"])
    if dead:
        found.append(
            Finding(
                code="gamma-near-zero",
                message=(
                    f"{dead} channel(s) have |gamma| < {GAMMA_NEAR_ZERO}: they output "
                    "about beta whatever the input is."
                ),
                channels=listed,
            )
        )
    tiny, listed = _channels_where(lambda v: v < epsilon, values["moving_variance"])
    if tiny:
        found.append(
            Finding(
                code="tiny-variance",
                message=(
                    f"{tiny} channel(s) have moving_variance below epsilon "
                    f"({_num(epsilon)}): epsilon dominates the division there, and small "
                    "changes in x are amplified up to 1/√epsilon."
                ),
                channels=listed,
            )
        )
    return found


def _not_finite_findings(values: dict[str, np.ndarray]) -> list[Finding]:
    """NaN or ±Inf in a stored weight: those channels output NaN or Inf at inference."""
    if all(_constant(values[role]) for role in ROLES):  # a spec's: JSON numbers are finite
        return []
    bad = {role: np.flatnonzero(~np.isfinite(values[role])) for role in ROLES}
    if not any(found.size for found in bad.values()):
        # Nearly every layer: no `np.unique`, whose first call imports numpy.ma (9 ms of
        # a reading process's CPU, ResNet50's 53 layers 1 ms more).
        return []
    channels = np.unique(np.concatenate(list(bad.values())))
    which = ", ".join(f"{role} {found.size}" for role, found in bad.items() if found.size)
    return [
        Finding(
            code="not-finite",
            message=(
                f"{channels.size} channel(s) hold NaN or ±Inf ({which}): at inference they "
                "output NaN or Inf whatever the input is. Such values usually come from a "
                "training step that diverged."
            ),
            channels=channels[:CHANNELS_LISTED].tolist(),
        )
    ]


def _bn_weight(weight: WeightRef) -> BatchNormWeight:
    return BatchNormWeight(
        role=weight.role,  # type: ignore[arg-type]
        name=weight.name,
        index=weight.index if weight.index is not None else -1,
        trainable=weight.trainable,
        shape=list(weight.shape),
    )


def _channel_stats(
    values: dict[str, np.ndarray], scale: np.ndarray, shift: np.ndarray
) -> dict[str, WeightStats]:
    """Each array's statistics: those read from the file (and folded from them) together
    (`row_stats`), a constant's at once, and one at a time where they cannot be together."""
    arrays = {**values, "scale": scale, "shift": shift}
    read = [name for name, array in arrays.items() if not _constant(array)]
    together = _together([arrays[name] for name in read])
    found = dict(zip(read, together, strict=True)) if together is not None else {}
    return {name: found[name] if name in found else _stats(array) for name, array in arrays.items()}


def _together(arrays: list[np.ndarray]) -> list[WeightStats] | None:
    if not arrays or len({array.shape for array in arrays}) != 1:
        return None
    return row_stats(np.stack(arrays))


def _stats(array: np.ndarray) -> WeightStats:
    if _constant(array):  # one value: no need to read it 50 million times
        value = float(array[0])
        return WeightStats(min=value, max=value, mean=value, std=0.0)
    return weight_stats(array)  # type: ignore[return-value]


def _channel_values(
    values: dict[str, np.ndarray], scale: np.ndarray, shift: np.ndarray, listed: int
) -> ChannelValues:
    n = min(listed, scale.size)
    return ChannelValues(
        **{role: _floats(values[role][:n]) for role in ROLES},
        scale=_floats(scale[:n]),
        shift=_floats(shift[:n]),
        listed=n,
        truncated=scale.size > n,
    )


def _floats(array: np.ndarray) -> list[float | None]:
    """JSON numbers; None for NaN and ±Inf, which JSON cannot hold. (One test over the array,
    not one per value: `np.isfinite` value by value took 0.3 s of CPU on ResNet50's 53
    layers.) None listed (`inspect`'s brief report): nothing to test."""
    if not array.size:
        return []
    wide = np.asarray(array, dtype=np.float64)
    if np.isfinite(wide).all():
        return wide.tolist()
    return np.where(np.isfinite(wide), wide, None).tolist()


def _num(value: float) -> str:
    """A number as a person reads it: 7 significant digits, no float noise."""
    return f"{float(value):.7g}"
