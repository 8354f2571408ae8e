"""The forwards' contract and index: one NumPy function per Keras layer class.

`FORWARDS` maps a Keras `class_name` (and its aliases) to a function

    fn(config, weights, inputs, training) -> output (or list of outputs)

where `config` is the layer's config dict (Keras 2 or 3 spelling; missing keys take Keras'
defaults), `weights` maps each weight's role (Keras vocabulary: `kernel`, `bias`, `gamma`,
`moving_mean`, ...) to its array — the variable's own Keras name is accepted too where it
differs (`DepthwiseConv2D` stores its `depthwise_kernel` as `kernel`, ConvNeXt's `LayerScale`
its `gamma` as `variable`) — `inputs` is one array per input tensor, batch first, and
`training` selects the training-mode computation where Keras' differs (BatchNormalization).

Masks (Keras' `_keras_mask`, one boolean array (N, T) per input, or None) take two small,
explicit steps, as in Keras' `Layer.__call__`:

- consuming: a forward that declares a keyword parameter `masks` receives them
  (`fn(config, weights, inputs, training, masks=[mask or None per input])`) — the recurrent
  layers do; every other forward is called exactly as before;
- producing: `COMPUTE_MASK` maps a class name to its own `fn(config, inputs, masks,
  outputs)`, which returns one mask (or None) per output, like the layer's `compute_mask`.
  The registry entry (`app.layers.registry`) holds each class's rule: this one, or, from its
  traits, `masking.first_input_mask` or `masking.drops_mask`.
  `run_layer(..., masks=...)` runs the first step, `app.layers.registry.output_masks` the
  second.

The registry reads `FORWARDS` and `COMPUTE_MASK` into its entries; nothing here imports
`app.layers`. `run_layer` is how a wrapper runs the layer it wraps.

Everything here is plain NumPy: no Keras, TensorFlow or JAX. Arithmetic stays in the
input's dtype (float32 for Keras' default policy).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from app.errors import UnsupportedModel, WeightMismatch

Config = Mapping[str, Any]
Weights = Mapping[str, np.ndarray]
Output = np.ndarray | list[np.ndarray]
ForwardFn = Callable[[Config, Weights, list[np.ndarray], bool], Output]
Mask = np.ndarray | None
MaskFn = Callable[[Config, list[np.ndarray], list[Mask], list[np.ndarray]], list[Mask]]

FORWARDS: dict[str, ForwardFn] = {}
MASK_CONSUMERS: set[str] = set()  # classes whose forward declares `masks`
COMPUTE_MASK: dict[str, MaskFn] = {}


def forward(*class_names: str) -> Callable[[ForwardFn], ForwardFn]:
    """Register a forward function under one or more Keras class names."""

    def decorate(fn: ForwardFn) -> ForwardFn:
        takes_masks = "masks" in inspect.signature(fn).parameters
        for name in class_names:
            if name in FORWARDS:
                raise RuntimeError(f"forward for {name} registered twice")
            FORWARDS[name] = fn
            if takes_masks:
                MASK_CONSUMERS.add(name)
        return fn

    return decorate


def compute_mask(*class_names: str) -> Callable[[MaskFn], MaskFn]:
    """Register the output-mask rule (Keras' `compute_mask`) of one or more classes."""

    def decorate(fn: MaskFn) -> MaskFn:
        for name in class_names:
            if name in COMPUTE_MASK:
                raise RuntimeError(f"mask rule for {name} registered twice")
            COMPUTE_MASK[name] = fn
        return fn

    return decorate


def run_layer(
    class_name: str,
    config: Config,
    weights: Weights,
    inputs: Sequence[np.ndarray],
    training: bool = False,
    masks: Sequence[Mask] | None = None,
) -> Output:
    """Run the reference forward of `class_name` on `inputs` (a list, one per input).

    `masks` (one per input, or None) reach the forward only when it declares `masks`.
    """
    fn = FORWARDS.get(class_name)
    if fn is None:
        raise UnsupportedModel(
            f"There is no reference forward for layer class {class_name}.",
            {"class_name": class_name},
        )
    arrays = [np.asarray(x) for x in inputs]
    if class_name in MASK_CONSUMERS and masks is not None and any(m is not None for m in masks):
        return fn(config, weights, arrays, training, masks=list(masks))  # type: ignore[call-arg]
    return fn(config, weights, arrays, training)


def as_outputs(output: Output) -> list[np.ndarray]:
    """A forward's result as a list of output tensors."""
    return list(output) if isinstance(output, list | tuple) else [output]


def named_weights(entries: Iterable[tuple[str, str, np.ndarray]]) -> dict[str, np.ndarray]:
    """A layer's weights for its forward, from (Keras name, role, array) triples.

    Keys: every weight's full name inside the layer (`forward_lstm/lstm_cell/kernel`), and,
    where no other weight of the layer shares them, its role and the last part of its name
    (`kernel`): a plain layer is looked up by role, a wrapper splits its weights by name.
    """
    entries = list(entries)
    table = {name: array for name, _, array in entries}
    roles = [role for _, role, _ in entries]
    last_parts = [name.rsplit("/", 1)[-1] for name, _, _ in entries]
    for aliases in (roles, last_parts):
        for key, (_, _, array) in zip(aliases, entries, strict=True):
            if aliases.count(key) == 1:
                table.setdefault(key, array)
    return table


def to_snake_case(name: str) -> str:
    """keras.src.utils.naming.to_snake_case: `LSTMCell` -> `lstm_cell`."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def sublayer_weights(weights: Weights, prefix: str) -> dict[str, np.ndarray]:
    """The weights of the sublayer named `prefix` (`forward_lstm`, `stacked_rnn_cells/
    lstm_cell`), keyed by their names relative to it, with last-part aliases (`kernel`)."""
    start = prefix + "/"
    inner = [(k[len(start) :], v) for k, v in weights.items() if k.startswith(start)]
    return named_weights((name, name.rsplit("/", 1)[-1], array) for name, array in inner)


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
