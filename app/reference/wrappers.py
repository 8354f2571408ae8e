"""Wrappers: Bidirectional, TimeDistributed and SpectralNormalization, around any layer that
has a forward.

Each calls the wrapped layer's own forward (`run_layer`) with the wrapped layer's weights,
found by name: `forward_<name>/…` and `backward_<name>/…` for Bidirectional, `<name>/…` for
TimeDistributed and SpectralNormalization, as Keras names the variables
(`keras/src/layers/rnn/bidirectional.py`, `time_distributed.py`,
`keras/src/layers/normalization/spectral_normalization.py`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.errors import UnsupportedModel
from app.reference.forwards import (
    Config,
    Mask,
    Weights,
    as_outputs,
    compute_mask,
    forward,
    run_layer,
    scalar,
    single,
    sublayer_weights,
    to_snake_case,
)

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def layer_name(entry: dict) -> str:
    """A wrapped layer's name: its config name, else its snake-cased class name."""
    return (entry.get("config") or {}).get("name") or to_snake_case(entry["class_name"])


def _renamed(entry: dict, name: str, **changes: Any) -> dict:
    return {**entry, "config": {**(entry.get("config") or {}), "name": name, **changes}}


def directions(config: Config) -> tuple[dict, dict]:
    """(forward layer, backward layer) entries as Keras 3 rebuilds them.

    forward: `layer` renamed `forward_<name>`; backward: `backward_layer` when the config has
    one, else `layer` with go_backwards=True renamed `backward_<name>`. Both get
    zero_output_for_mask = return_sequences, which Bidirectional forces on them.
    """
    layer = config["layer"]
    name = layer_name(layer)
    forward_name = "forward_" + name.removeprefix("forward_")
    backward = config.get("backward_layer")
    if backward:
        backward = _renamed(backward, layer_name(backward))
    else:
        backward = _renamed(layer, "backward_" + name.removeprefix("backward_"), go_backwards=True)
    return _zero_output(_renamed(layer, forward_name)), _zero_output(backward)


def _zero_output(entry: dict) -> dict:
    sequences = bool(entry["config"].get("return_sequences", False))
    return {**entry, "config": {**entry["config"], "zero_output_for_mask": sequences}}


def _run_direction(entry: dict, weights: Weights, inputs, training: bool, masks) -> list:
    own = sublayer_weights(weights, entry["config"]["name"])
    return as_outputs(run_layer(entry["class_name"], entry["config"], own, inputs, training, masks))


def merge(mode: str | None, y: np.ndarray, y_rev: np.ndarray) -> list[np.ndarray]:
    """concat: [y, y_rev] on the last axis; sum: y + y_rev; mul: y ⊙ y_rev;
    ave: (y + y_rev) / 2; None: both, as two outputs."""
    if mode == "concat":
        return [np.concatenate([y, y_rev], axis=-1)]
    if mode == "sum":
        return [y + y_rev]
    if mode == "mul":
        return [y * y_rev]
    if mode == "ave":
        return [(y + y_rev) / scalar(2.0, y)]
    return [y, y_rev]


def merge_mode(config: Config) -> str | None:
    """The config's `merge_mode` (default concat), refused when Keras has no such mode."""
    mode = config.get("merge_mode", "concat")
    if mode not in MERGE_MODES:
        raise UnsupportedModel(f"Bidirectional has no merge_mode {mode!r}.", {"merge_mode": mode})
    return mode


@forward("Bidirectional")
def bidirectional(config: Config, weights: Weights, inputs: list[np.ndarray], training, masks=None):
    """Bidirectional: y = forward_layer(x), y_rev = backward_layer(x) (which runs over reversed
    time); with return_sequences y_rev is flipped back on the time axis; output =
    merge(y, y_rev) by `merge_mode`, then with return_state the forward layer's final states
    and the backward layer's.

    Shapes: x (N, T, F); further inputs are initial states, the first half for the forward
    layer. concat gives (N[, T], 2·units), the other modes (N[, T], units).
    """
    mode = merge_mode(config)
    forward_entry, backward_entry = directions(config)
    x, states = inputs[0], inputs[1:]
    half = len(states) // 2
    y = _run_direction(forward_entry, weights, [x, *states[:half]], training, masks)
    y_rev = _run_direction(backward_entry, weights, [x, *states[half:]], training, masks)
    if forward_entry["config"].get("return_sequences", False):
        y_rev[0] = np.flip(y_rev[0], axis=1)
    merged = merge(mode, y[0], y_rev[0])
    if not forward_entry["config"].get("return_state", False):
        return merged[0] if len(merged) == 1 else merged
    return [*merged, *y[1:], *y_rev[1:]]


@compute_mask("Bidirectional")
def bidirectional_mask(config: Config, inputs, masks: list[Mask], outputs) -> list[Mask]:
    """With return_sequences the input mask on each output (one, or two when merge_mode is
    None); otherwise none; states: none."""
    mask = masks[0] if masks else None
    if not config["layer"].get("config", {}).get("return_sequences", False):
        mask = None
    merged = [mask] if config.get("merge_mode", "concat") is not None else [mask, mask]
    return [*merged, *[None] * (len(outputs) - len(merged))]


@forward("TimeDistributed")
def time_distributed(
    config: Config, weights: Weights, inputs: list[np.ndarray], training, masks=None
):
    """TimeDistributed: output[:, t] = layer(x[:, t]) for t = 0 … T−1, one call per timestep
    as Keras makes them (so a wrapped BatchNormalization in training mode takes each
    timestep's batch statistics); mask[:, t] goes to a layer that takes masks.

    Shapes: x (N, T, *S) → (N, T, *S') where the wrapped layer maps (N, *S) → (N, *S').
    """
    x = single(inputs)
    entry = config["layer"]
    own = sublayer_weights(weights, layer_name(entry)) or dict(weights)
    mask = masks[0] if masks else None
    steps = [
        _time_step(entry, own, x[:, t], training, None if mask is None else mask[:, t])
        for t in range(x.shape[1])
    ]
    return np.stack(steps, axis=1)


def _time_step(entry: dict, weights: Weights, x_t: np.ndarray, training: bool, mask: Mask):
    masks = None if mask is None else [mask]
    out = run_layer(entry["class_name"], entry.get("config") or {}, weights, [x_t], training, masks)
    if isinstance(out, list):
        raise UnsupportedModel(
            "TimeDistributed wraps a layer with more than one output.",
            {"class_name": entry["class_name"]},
        )
    return out


@forward("SpectralNormalization")
def spectral_normalization(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """SpectralNormalization at inference: y = layer(x) with the kernel as stored, cast to
    x's dtype. Shapes: those of the wrapped layer.

    In training mode Keras first replaces the kernel by W / σ(W), σ estimated by power
    iteration from `vector_u`, and assigns both: that changes the model's state, which a
    check of one call does not reproduce, so it refuses.
    """
    entry = config["layer"]
    if training:
        raise UnsupportedModel(
            "SpectralNormalization normalizes and reassigns its layer's kernel in training "
            "mode, which the reference does not reproduce; run the check in inference mode.",
            {"class_name": "SpectralNormalization", "mode": "training"},
        )
    x = single(inputs)
    own = sublayer_weights(weights, layer_name(entry)) or dict(weights)
    out = run_layer(entry["class_name"], entry.get("config") or {}, own, [x], training)
    return out.astype(x.dtype, copy=False)
