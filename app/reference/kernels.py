"""The reference forward registry: one NumPy function per Keras layer class.

`FORWARDS` maps a Keras `class_name` (and its aliases) to a function

    fn(config, weights, inputs, training) -> output (or list of outputs)

where `config` is the layer's config dict (Keras 2 or 3 spelling; missing keys take Keras'
defaults), `weights` maps each weight's role (Keras vocabulary: `kernel`, `bias`, `gamma`,
`moving_mean`, ...) to its array — the variable's own Keras name is accepted too where it
differs (`DepthwiseConv2D` stores its `depthwise_kernel` as `kernel`, ConvNeXt's `LayerScale`
its `gamma` as `variable`) — `inputs` is one array per input tensor, batch first, and
`training` selects the training-mode computation where Keras' differs (BatchNormalization).

Everything here is plain NumPy: no Keras, TensorFlow or JAX. Arithmetic stays in the
input's dtype (float32 for Keras' default policy).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from app.errors import UnsupportedModel, WeightMismatch

Config = Mapping[str, Any]
Weights = Mapping[str, np.ndarray]
Output = np.ndarray | list[np.ndarray]
ForwardFn = Callable[[Config, Weights, list[np.ndarray], bool], Output]

FORWARDS: dict[str, ForwardFn] = {}


def forward(*class_names: str) -> Callable[[ForwardFn], ForwardFn]:
    """Register a forward function under one or more Keras class names."""

    def decorate(fn: ForwardFn) -> ForwardFn:
        for name in class_names:
            if name in FORWARDS:
                raise RuntimeError(f"forward for {name} registered twice")
            FORWARDS[name] = fn
        return fn

    return decorate


def run_layer(
    class_name: str,
    config: Config,
    weights: Weights,
    inputs: Sequence[np.ndarray],
    training: bool = False,
) -> Output:
    """Run the reference forward of `class_name` on `inputs` (a list, one per input)."""
    fn = FORWARDS.get(class_name)
    if fn is None:
        raise UnsupportedModel(
            f"There is no reference forward for layer class {class_name}.",
            {"class_name": class_name},
        )
    return fn(config, weights, [np.asarray(x) for x in inputs], training)


def weight(weights: Weights, role: str, *names: str) -> np.ndarray:
    """The weight with `role`, or else the first of its Keras `names` that is present."""
    found = optional_weight(weights, role, *names)
    if found is None:
        raise WeightMismatch(
            f"The layer has no {role} weight.", {"role": role, "present": sorted(weights)}
        )
    return found


def optional_weight(weights: Weights, role: str, *names: str) -> np.ndarray | None:
    """Like `weight`, but None when the layer has no such weight (e.g. `use_bias=False`)."""
    for key in (role, *names):
        if key in weights:
            return np.asarray(weights[key])
    return None


def single(inputs: Sequence[np.ndarray]) -> np.ndarray:
    """The one input of a single-input layer."""
    if len(inputs) != 1:
        raise ValueError(f"expected one input, got {len(inputs)}")
    return inputs[0]


def as_tuple(value: Any, rank: int) -> tuple[int, ...]:
    """An int or a sequence of ints (Keras 2 files give lists) as a `rank`-tuple of ints."""
    if isinstance(value, int | np.integer):
        return (int(value),) * rank
    values = tuple(int(v) for v in value)
    if len(values) != rank:
        raise ValueError(f"expected {rank} values, got {values}")
    return values


def is_channels_first(config: Config) -> bool:
    """True when the layer's `data_format` is `channels_first` (Keras' default is last)."""
    return (config.get("data_format") or "channels_last") == "channels_first"


def to_channels_last(x: np.ndarray, channels_first: bool) -> np.ndarray:
    """(N, C, *S) -> (N, *S, C) when `channels_first`, else `x` unchanged (a view)."""
    return np.moveaxis(x, 1, -1) if channels_first else x


def from_channels_last(x: np.ndarray, channels_first: bool) -> np.ndarray:
    """(N, *S, C) -> (N, C, *S) when `channels_first`, else `x` unchanged (a view)."""
    return np.moveaxis(x, -1, 1) if channels_first else x


def scalar(value: Any, x: np.ndarray) -> np.ndarray:
    """`value` as a 0-d array of `x`'s dtype, so NumPy never promotes `x` to float64."""
    return np.asarray(value, dtype=x.dtype)
