"""Mistakes made on recurrent layers (variants of app.reference.recurrent's forwards).

gru-pytorch-gate-order        the GRU's kernel, recurrent_kernel and bias read in
                              PyTorch's gate order (r, z, n) where Keras stores (z, r, h)
gru-reset-after-ignored       reset_after=True (Keras 3's default) computed as the older
                              reset_after=False GRU (the reset gate before the matmul),
                              with the input bias row, or both rows summed
rnn-recurrent-activation      recurrent_activation sigmoid and hard_sigmoid confused
rnn-go-backwards-not-reversed with go_backwards and return_sequences, Keras returns the
                              steps in processing order (last step first); yours in
                              input order
rnn-return-sequences          return_sequences confused: every step where Keras returns
                              the last (return_sequences=False), or the last step where it
                              returns them all; the shapes differ, so this is the one
                              mistake searched for an array of another shape
"""

from __future__ import annotations

import numpy as np

from app.diagnosis.catalogue import Config, Forms, Weights, finite_forms, mistake
from app.reference import forwards
from app.reference.forwards import optional_weight, weight
from app.reference.recurrent import gru_reset_after

SWAPPED_ACTIVATION = {"sigmoid": "hard_sigmoid", "hard_sigmoid": "sigmoid"}


def _class(config: Config, weights: Weights) -> str:
    """GRU, LSTM or SimpleRNN, from the kernel's width (a replay is not told its class)."""
    gates = weight(weights, "kernel").shape[-1] // int(config["units"])
    return {1: "SimpleRNN", 3: "GRU", 4: "LSTM"}[gates]


def _swap_zr(array: np.ndarray | None, units: int) -> np.ndarray | None:
    """(…, 3·units) with the first two gate blocks swapped."""
    if array is None:
        return None
    z, r, h = (array[..., i * units : (i + 1) * units] for i in range(3))
    return np.concatenate([r, z, h], axis=-1)


@mistake(
    "gru-pytorch-gate-order",
    "GRU",
    title="GRU gates in PyTorch's order",
    explain="Keras stores a GRU's kernel, recurrent_kernel and bias with the gates in the "
    "order update (z), reset (r), candidate (h); PyTorch's weight_ih/weight_hh use reset, "
    "update, new (r, z, n). Yours read Keras' blocks in PyTorch's order.",
    fix="z, r, h = np.split(kernel, 3, axis=-1)  # Keras: update, reset, candidate",
)
def gru_gate_order(config: Config, weights: Weights, inputs, theirs) -> Forms:
    units = int(config["units"])
    swapped = {
        **weights,
        "kernel": _swap_zr(weight(weights, "kernel"), units),
        "recurrent_kernel": _swap_zr(weight(weights, "recurrent_kernel"), units),
    }
    bias = optional_weight(weights, "bias")
    if bias is not None:
        swapped["bias"] = _swap_zr(bias, units)
    return finite_forms({"": _run("GRU", config, swapped, inputs)})


@mistake(
    "gru-reset-after-ignored",
    "GRU",
    title="GRU's reset_after ignored",
    explain="This GRU has reset_after=True (Keras 3's default, and cuDNN's): the reset gate "
    "multiplies h_{t−1} · U_h + b_h, after the matmul, with a second bias row. Yours apply "
    "it before the matmul, (r ⊙ h_{t−1}) · U_h, as reset_after=False does.",
    fix="h_tilde = tanh(x @ W_h + b_in_h + r * (h @ U_h + b_rec_h))  # reset_after=True",
)
def gru_reset_after_ignored(config: Config, weights: Weights, inputs, theirs) -> Forms:
    bias = optional_weight(weights, "bias")
    if not gru_reset_after(config):
        return {}
    before = {**config, "reset_after": False}
    if bias is None or bias.ndim != 2:
        return finite_forms({"": _run("GRU", before, weights, inputs)})
    forms = {
        "with the input bias row": _run("GRU", before, {**weights, "bias": bias[0]}, inputs),
        "with both bias rows summed": _run(
            "GRU", before, {**weights, "bias": bias[0] + bias[1]}, inputs
        ),
    }
    return finite_forms(forms)


@mistake(
    "rnn-recurrent-activation",
    "SimpleRNN",
    "GRU",
    "LSTM",
    title="recurrent_activation sigmoid and hard_sigmoid confused",
    explain=lambda config, _w: (
        "This layer's gates use recurrent_activation="
        f"{config.get('recurrent_activation', 'sigmoid')}; yours use "
        f"{SWAPPED_ACTIVATION.get(config.get('recurrent_activation', 'sigmoid'), 'another')} "
        "(Keras 2's LSTM and GRU defaulted to hard_sigmoid, Keras 3's to sigmoid)."
    ),
    fix="gate = activations.get(layer.recurrent_activation)  # the layer's own, not a default",
)
def recurrent_activation(config: Config, weights: Weights, inputs, theirs) -> Forms:
    other = SWAPPED_ACTIVATION.get(config.get("recurrent_activation", "sigmoid"))
    class_name = _class(config, weights)
    if other is None or class_name == "SimpleRNN":
        return {}
    changed = {**config, "recurrent_activation": other}
    return finite_forms({other: _run(class_name, changed, weights, inputs)})


@mistake(
    "rnn-go-backwards-not-reversed",
    "SimpleRNN",
    "GRU",
    "LSTM",
    title="go_backwards: the sequence in input order",
    explain="With go_backwards=True and return_sequences=True, Keras returns the outputs in "
    "the order it computed them: output[:, 0] is the step of the last input. Yours are in "
    "input order (reversed back).",
    fix="outputs = outputs[:, ::-1]  # Keras' order with go_backwards: last input step first",
)
def go_backwards_not_reversed(config: Config, weights: Weights, inputs, theirs) -> Forms:
    if not (config.get("go_backwards") and config.get("return_sequences")):
        return {}
    if config.get("return_state"):
        return {}
    out = _run(_class(config, weights), config, weights, inputs)
    return finite_forms({"": out[:, ::-1]})


@mistake(
    "rnn-return-sequences",
    "SimpleRNN",
    "GRU",
    "LSTM",
    title="return_sequences confused (last step vs all steps)",
    explain=lambda config, _w: (
        "This layer has return_sequences=True: Keras returns the output of every step, "
        "(batch, timesteps, units); yours hold the last step only, (batch, units)."
        if config.get("return_sequences")
        else "This layer has return_sequences=False: Keras returns the last step's output "
        "only, (batch, units); yours hold every step, (batch, timesteps, units)."
    ),
    fix="y = outputs if layer.return_sequences else outputs[:, -1]  # the layer's own setting",
    reshapes=True,
)
def return_sequences_confused(config: Config, weights: Weights, inputs, theirs) -> Forms:
    if config.get("return_state"):
        return {}
    flipped = {**config, "return_sequences": not config.get("return_sequences", False)}
    out = _run(_class(config, weights), flipped, weights, inputs)
    label = "the last step only" if config.get("return_sequences") else "every step"
    return finite_forms({label: out})


def _run(class_name: str, config: Config, weights: Weights, inputs) -> np.ndarray:
    out = forwards.run_layer(class_name, config, weights, inputs)
    return out[0] if isinstance(out, list) else out
