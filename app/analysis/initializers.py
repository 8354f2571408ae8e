"""Initial values for the weights of a spec (a model without a weights file).

Constant initializers give Keras' exact values: `zeros`, `ones`, `Constant(value)`,
`Identity(gain)`, the LSTM bias with `unit_forget_bias` ([0, 1, 0, 0] per gate block) and
ConvNeXt's `LayerScale` (`init_values`) — so a fresh BatchNormalization is gamma 1, beta 0,
moving_mean 0, moving_variance 1. Random initializers are seeded NumPy draws from the same
family and scale as Keras' (`glorot_uniform`: U(±√(6 / (fan_in + fan_out))), `he_normal`:
a normal truncated at 2σ with σ = √(2 / fan_in) / 0.8796, `orthogonal`: Q of a QR
decomposition, …); they are NOT the numbers Keras would draw, which depend on its own
generators. Draws are made in float64 (NumPy's generator) and cast to the weight's dtype,
on purpose. An initializer this module does not know is drawn like `glorot_uniform`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

from app.graph import LayerNode, WeightRef
from app.layers.recurrent import LAYER_OF_CELL, to_snake_case
from app.layers.registry import traits_of

# The generator's type by name: `np.random` itself is imported only where a draw is random
# (~10 ms of every command's imports, for the tables' constant biases that draw nothing).
Draw = Callable[["np.random.Generator", tuple[int, ...], dict[str, Any]], np.ndarray]

# The config key that holds each role's initializer, and Keras' default for it.
CONFIG_KEYS = {
    "kernel": ("kernel_initializer", "glorot_uniform"),
    "bias": ("bias_initializer", "zeros"),
    "recurrent_kernel": ("recurrent_initializer", "orthogonal"),
    "gamma": ("gamma_initializer", "ones"),
    "beta": ("beta_initializer", "zeros"),
    "moving_mean": ("moving_mean_initializer", "zeros"),
    "moving_variance": ("moving_variance_initializer", "ones"),
    "embeddings": ("embeddings_initializer", "random_uniform"),
    "depthwise_kernel": ("depthwise_initializer", "glorot_uniform"),
    "pointwise_kernel": ("pointwise_initializer", "glorot_uniform"),
    "alpha": ("alpha_initializer", "zeros"),
    "mean": ("mean_initializer", "zeros"),
    "variance": ("variance_initializer", "ones"),
    "count": ("count_initializer", "zeros"),
}
ALIASES = {"normal": "random_normal", "uniform": "random_uniform", "zero": "zeros", "one": "ones"}
TRUNCATED_STD = 0.87962566103423978  # std of a unit normal truncated at ±2


def compute_fans(shape: tuple[int, ...]) -> tuple[float, float]:
    """Keras' `compute_fans`: (in, out) of a kernel; conv kernels count the receptive field."""
    if not shape:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


def truncated_normal(rng: np.random.Generator, shape, mean: float, std: float) -> np.ndarray:
    """Normal(mean, std) redrawn outside mean ± 2·std, as Keras' TruncatedNormal."""
    values = rng.normal(size=shape)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.normal(size=int(outside.sum()))
        outside = np.abs(values) > 2
    return mean + std * values


def variance_scaling(rng, shape, cfg: dict[str, Any]) -> np.ndarray:
    """scale / n with n = fan_in, fan_out or their mean (`mode`), drawn by `distribution`:
    truncated normal σ = √(scale/n)/0.8796, normal σ = √(scale/n), uniform ±√(3·scale/n)."""
    fan_in, fan_out = compute_fans(tuple(shape))
    mode = cfg.get("mode", "fan_in")
    n = {"fan_in": fan_in, "fan_out": fan_out}.get(mode, (fan_in + fan_out) / 2)
    scale = float(cfg.get("scale", 1.0)) / max(1.0, n)
    distribution = cfg.get("distribution", "truncated_normal")
    if distribution == "truncated_normal":
        return truncated_normal(rng, shape, 0.0, math.sqrt(scale) / TRUNCATED_STD)
    if distribution in ("untruncated_normal", "normal"):
        return rng.normal(0.0, math.sqrt(scale), shape)
    limit = math.sqrt(3.0 * scale)
    return rng.uniform(-limit, limit, shape)


def _scaled(scale: float, mode: str, distribution: str) -> Draw:
    fixed = {"scale": scale, "mode": mode, "distribution": distribution}
    return lambda rng, shape, cfg: variance_scaling(rng, shape, fixed)


def orthogonal(rng, shape, cfg: dict[str, Any]) -> np.ndarray:
    """gain · Q, Q from the QR decomposition of a normal draw of shape (∏shape[:-1], shape[-1])
    (transposed when it has fewer rows than columns), signs fixed by diag(R)."""
    rows, cols = math.prod(shape[:-1]), shape[-1]
    flat = rng.normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    q = q.T if rows < cols else q
    return float(cfg.get("gain", 1.0)) * q.reshape(shape)


def identity(rng, shape, cfg: dict[str, Any]) -> np.ndarray:
    """gain · I (2-D kernels only, as Keras' Identity)."""
    return float(cfg.get("gain", 1.0)) * np.eye(*shape)


DRAWS: dict[str, Draw] = {
    "zeros": lambda rng, shape, cfg: np.zeros(shape),
    "ones": lambda rng, shape, cfg: np.ones(shape),
    "constant": lambda rng, shape, cfg: np.full(shape, float(cfg.get("value", 0.0))),
    "identity": identity,
    "random_normal": lambda rng, shape, cfg: rng.normal(
        float(cfg.get("mean", 0.0)), float(cfg.get("stddev", 0.05)), shape
    ),
    "random_uniform": lambda rng, shape, cfg: rng.uniform(
        float(cfg.get("minval", -0.05)), float(cfg.get("maxval", 0.05)), shape
    ),
    "truncated_normal": lambda rng, shape, cfg: truncated_normal(
        rng, shape, float(cfg.get("mean", 0.0)), float(cfg.get("stddev", 0.05))
    ),
    "variance_scaling": variance_scaling,
    "glorot_uniform": _scaled(1.0, "fan_avg", "uniform"),
    "glorot_normal": _scaled(1.0, "fan_avg", "truncated_normal"),
    "he_uniform": _scaled(2.0, "fan_in", "uniform"),
    "he_normal": _scaled(2.0, "fan_in", "truncated_normal"),
    "lecun_uniform": _scaled(1.0, "fan_in", "uniform"),
    "lecun_normal": _scaled(1.0, "fan_in", "truncated_normal"),
    "orthogonal": orthogonal,
}


def parse_initializer(spec: Any) -> tuple[str, dict[str, Any]]:
    """(snake_case name, config) of a config's initializer: a name or a serialized object."""
    cfg: dict[str, Any] = {}
    if isinstance(spec, dict):
        cfg = _config_of(spec)
        spec = spec.get("class_name")
    name = to_snake_case(str(spec)) if isinstance(spec, str) else "glorot_uniform"
    return ALIASES.get(name, name), cfg


def initializer_for(node: LayerNode, weight: WeightRef, role: str) -> tuple[str, dict[str, Any]]:
    """(snake_case name, config) of the initializer that the config of the (sub)layer owning
    `weight` names for `role`, or Keras' default for it. Names are parsed once each (a
    regex per call was half the weight findings' time on ResNet50)."""
    key, default = CONFIG_KEYS[role]
    spec = owner_config(node.config, weight.name.split("/")).get(key) or default
    if isinstance(spec, str):
        return _snake_name(spec), {}
    if isinstance(spec, dict) and isinstance(spec.get("class_name"), str):
        return _snake_name(spec["class_name"]), _config_of(spec)
    return parse_initializer(spec)


def _config_of(spec: dict[str, Any]) -> dict[str, Any]:
    """A serialized initializer's config, or none when the file wrote something else there
    (a hostile config may put any JSON value)."""
    config = spec.get("config")
    return dict(config) if isinstance(config, dict) else {}


@lru_cache(maxsize=512)
def _snake_name(name: str) -> str:
    return parse_initializer(name)[0]


def draw(spec: Any, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Values (float64) of the initializer `spec` for a weight of `shape`."""
    name, cfg = parse_initializer(spec)
    return DRAWS.get(name, DRAWS["glorot_uniform"])(rng, tuple(shape), cfg)


def initial_value(node: LayerNode, ref: WeightRef, rng: np.random.Generator | int) -> np.ndarray:
    """The initial value of one weight of `node`, in the weight's dtype. `rng` is a generator,
    or the seed of one that is made at the first random draw (`Seeded`)."""
    rng = Seeded(rng) if isinstance(rng, int) else rng
    config = owner_config(node.config, ref.name.split("/"))
    values = _special(node, config, ref, rng)
    if values is None:
        key, default = CONFIG_KEYS.get(ref.role, ("", "glorot_uniform"))
        values = draw(config.get(key, default), ref.shape, rng)
    return np.asarray(values).astype(ref.dtype)


class Seeded:
    """`np.random.default_rng(seed)`, made at its first draw: a constant initializer (the
    zeros of a bias, whose start the untrained-weights finding compares with the file's)
    draws nothing, and NumPy's random module (~10 ms to import) is then never loaded."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._made: np.random.Generator | None = None

    def __getattr__(self, name: str) -> Any:
        if self._made is None:
            self._made = np.random.default_rng(self.seed)
        return getattr(self._made, name)


def _special(node: LayerNode, config: dict, ref: WeightRef, rng) -> np.ndarray | None:
    """LSTM's unit_forget_bias and LayerScale's init_values, which no `*_initializer` states."""
    if ref.role == "bias" and _is_lstm(node, config) and config.get("unit_forget_bias", True):
        units = ref.shape[0] // 4
        part = config.get("bias_initializer", "zeros")
        return np.concatenate(
            [draw(part, (units,), rng), np.ones(units), draw(part, (2 * units,), rng)]
        )
    if "init_values" in config and ref.role in ("gamma", "variable"):
        return np.full(ref.shape, float(config["init_values"]))
    return None


def _is_lstm(node: LayerNode, config: dict) -> bool:
    """An LSTM's bias (an LSTM's, a ConvLSTM's or an LSTMCell's): `unit_forget_bias` applies."""
    class_name = config.get("_class_name", node.class_name)
    return traits_of(LAYER_OF_CELL.get(class_name, class_name)).unit_forget_bias


def owner_config(config: dict[str, Any], path: list[str]) -> dict[str, Any]:
    """The config of the (sub)layer that owns the weight named by `path`
    (`forward_lstm/lstm_cell/kernel` → the forward LSTM's), marked with its `_class_name`.
    A part that names no sublayer (`lstm_cell` of an LSTM, whose cell options are the
    layer's own) keeps the current config."""
    for part in path[:-1]:
        config = _sublayer(config, part) or config
    return config


def _sublayer(config: dict[str, Any], part: str) -> dict[str, Any] | None:
    for names, entry in _wrapped(config):
        if part in names:
            return {**(entry.get("config") or {}), "_class_name": entry.get("class_name")}
    return None


def _wrapped(config: dict[str, Any]) -> list[tuple[set[str], dict]]:
    """(names that identify it, entry) of each layer or cell a config wraps."""
    found = []
    layer, backward = config.get("layer"), config.get("backward_layer")
    if isinstance(layer, dict):
        name = _name(layer)
        names = {name, "forward_" + name.removeprefix("forward_")}
        if not backward:
            names.add("backward_" + name.removeprefix("backward_"))
        found.append((names, layer))
    if isinstance(backward, dict):
        found.append(({_name(backward)}, backward))
    cell = config.get("cell")
    cells = config.get("cells") or (cell if isinstance(cell, list) else [])
    if isinstance(cell, list):
        stacked = {"class_name": "StackedRNNCells", "config": {"cells": cell}}
        found.append(({"stacked_rnn_cells"}, stacked))
    elif isinstance(cell, dict):
        found.append(({_name(cell)}, cell))
    found += [({_name(c)}, c) for c in cells if isinstance(c, dict)]
    return found


def _name(entry: dict) -> str:
    return (entry.get("config") or {}).get("name") or to_snake_case(str(entry.get("class_name")))
