"""Recurrent layers: SimpleRNN, LSTM, GRU, and RNN over SimpleRNNCell, LSTMCell, GRUCell or
StackedRNNCells.

Shapes: sequences x (N, T, F) ((T, N, F) for Keras 2's `time_major`); every state (N, units);
output (N, units), or (N, T, units) with `return_sequences`; with `return_state` the final
states follow: [h] for SimpleRNN and GRU, [h, c] for LSTM, cell after cell for stacked cells.

The loop, as Keras 3's TensorFlow backend runs it (`keras/src/backend/tensorflow/rnn.py`),
for t = 0 … T−1 (T−1 … 0 with `go_backwards`):

    out_t, new = cell(x[:, t], states)
    where mask[n, t] is False:  out_t[n] = 0 if zero_output_for_mask else out_{t−1}[n]
                                           (0 before the first step),
                                new[n] = states[n]  (the state is carried over)

The returned sequence is in processing order (reversed with `go_backwards`, as Keras returns
it); the last output is that of the last step processed. Masks come from
`Embedding(mask_zero=True)` or `Masking` (see `forwards` for the contract); Keras passes none
when the call also takes initial states by keyword. `unroll` computes the same, except for
one quirk reproduced on purpose (`_unrolled_backward_zeroing`).

Not modelled: dropout and recurrent_dropout (inference; training-mode checks run with them at
0). `stateful=True` starts from zero states, as a freshly loaded stateful layer's first batch
does. Activations are Keras 3's: `hard_sigmoid` is clip(x/6 + 0.5, 0, 1), where a file written
by Keras 2 meant clip(0.2·x + 0.5, 0, 1) — Keras 3 loads such a file with its own meaning,
and that is what the check compares, so a ported Keras 2 LSTM can differ from what Keras 2
predicted (the keras2c example in the corpus by up to 0.105).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.errors import UnsupportedModel
from app.reference.activations import get_activation
from app.reference.forwards import (
    Config,
    Mask,
    Output,
    Weights,
    compute_mask,
    forward,
    optional_weight,
    scalar,
    sublayer_weights,
    to_snake_case,
    weight,
)

Step = Callable[[np.ndarray, list[np.ndarray]], tuple[np.ndarray, list[np.ndarray]]]


@dataclass(frozen=True)
class Cell:
    """One step of a cell: step(x_t (N, F), states) -> (output (N, units), new states)."""

    step: Step
    state_sizes: tuple[int, ...]


CellBuilder = Callable[[Config, Weights], Cell]
CELLS: dict[str, CellBuilder] = {}


def cell(*class_names: str) -> Callable[[CellBuilder], CellBuilder]:
    """Register a cell builder under Keras' cell class name(s)."""

    def decorate(fn: CellBuilder) -> CellBuilder:
        for name in class_names:
            CELLS[name] = fn
        return fn

    return decorate


def gru_reset_after(cfg: Config) -> bool:
    """`reset_after` as the writer meant it.

    Keras 2.1.5 added the option (default False in standalone Keras 2.x; True in tf.keras 2.x
    and Keras 3), and every writer since then stores it. A config without it but with Keras 2's
    `implementation` key comes from Keras 2.0-2.1.4, whose GRU was the reset_after=False one;
    any other config without it (a hand-written spec) gets Keras 3's default, True.
    """
    if "reset_after" in cfg:
        return bool(cfg["reset_after"])
    return "implementation" not in cfg


def _bias(config: Config, weights: Weights) -> np.ndarray | None:
    return optional_weight(weights, "bias") if config.get("use_bias", True) else None


def _plus(x: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    return x if bias is None else x + bias


def _activations(config: Config) -> tuple[Callable, Callable]:
    """(activation, recurrent_activation), Keras' defaults tanh and sigmoid."""
    return (
        get_activation(config.get("activation", "tanh")),
        get_activation(config.get("recurrent_activation", "sigmoid")),
    )


@cell("SimpleRNNCell")
def simple_rnn_cell(config: Config, weights: Weights) -> Cell:
    """h_t = activation(x_t · kernel + bias + h_{t−1} · recurrent_kernel).

    kernel (F, units), recurrent_kernel (units, units), bias (units,); states [h].
    """
    kernel, recurrent = weight(weights, "kernel"), weight(weights, "recurrent_kernel")
    bias, (activation, _) = _bias(config, weights), _activations(config)

    def step(x: np.ndarray, states: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        h = activation(_plus(x @ kernel, bias) + states[0] @ recurrent)
        return h, [h]

    return Cell(step, (recurrent.shape[0],))


@cell("LSTMCell")
def lstm_cell(config: Config, weights: Weights) -> Cell:
    """[z_i, z_f, z_c, z_o] = x_t · kernel + h_{t−1} · recurrent_kernel + bias (units each);
    c_t = σ(z_f)·c_{t−1} + σ(z_i)·activation(z_c);  h_t = σ(z_o)·activation(c_t),
    σ = recurrent_activation.

    kernel (F, 4·units), recurrent_kernel (units, 4·units), bias (4·units,); states [h, c].
    """
    kernel, recurrent = weight(weights, "kernel"), weight(weights, "recurrent_kernel")
    bias, (activation, gate) = _bias(config, weights), _activations(config)

    def step(x: np.ndarray, states: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        h_prev, c_prev = states
        z_i, z_f, z_c, z_o = np.split(_plus(x @ kernel + h_prev @ recurrent, bias), 4, axis=-1)
        c = gate(z_f) * c_prev + gate(z_i) * activation(z_c)
        h = gate(z_o) * activation(c)
        return h, [h, c]

    units = recurrent.shape[0]
    return Cell(step, (units, units))


@cell("GRUCell")
def gru_cell(config: Config, weights: Weights) -> Cell:
    """[x_z, x_r, x_h] = x_t · kernel + b_in;  z = σ(x_z + h_{t−1} · U_z + b_z), r likewise;
    reset_after=True:  h̃ = activation(x_h + r ⊙ (h_{t−1} · U_h + b_h))
    reset_after=False: h̃ = activation(x_h + (r ⊙ h_{t−1}) · U_h)
    h_t = z ⊙ h_{t−1} + (1 − z) ⊙ h̃;  σ = recurrent_activation, U = recurrent_kernel.

    kernel (F, 3·units), recurrent_kernel (units, 3·units); bias (2, 3·units) with
    reset_after (rows b_in and the recurrent bias), else (3·units,) = b_in; states [h].
    """
    kernel, recurrent = weight(weights, "kernel"), weight(weights, "recurrent_kernel")
    bias, activations = _bias(config, weights), _activations(config)
    reset_after = gru_reset_after(config)
    input_bias, recurrent_bias = _gru_biases(bias, reset_after)
    step = _gru_step(kernel, recurrent, input_bias, recurrent_bias, reset_after, activations)
    return Cell(step, (recurrent.shape[0],))


def _gru_biases(bias: np.ndarray | None, reset_after: bool) -> tuple[Any, Any]:
    if bias is None:
        return None, None
    return (bias[0], bias[1]) if reset_after else (bias, None)


def _gru_step(kernel, recurrent, input_bias, recurrent_bias, reset_after, activations) -> Step:
    activation, gate = activations
    units = recurrent.shape[0]

    def step(x: np.ndarray, states: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        h_prev = states[0]
        x_z, x_r, x_h = np.split(_plus(x @ kernel, input_bias), 3, axis=-1)
        if reset_after:
            r_z, r_r, r_h = np.split(_plus(h_prev @ recurrent, recurrent_bias), 3, axis=-1)
        else:
            r_z, r_r = np.split(h_prev @ recurrent[:, : 2 * units], 2, axis=-1)
        z, r = gate(x_z + r_z), gate(x_r + r_r)
        reset = r * r_h if reset_after else (r * h_prev) @ recurrent[:, 2 * units :]
        h = z * h_prev + (scalar(1.0, z) - z) * activation(x_h + reset)
        return h, [h]

    return step


def build_cell(entry: Any, weights: Weights) -> Cell:
    """An RNN's `cell` config (`{"class_name", "config"}`, or a list of them: stacked)."""
    if isinstance(entry, list) or entry.get("class_name") == "StackedRNNCells":
        return stacked_cells(entry, weights)
    builder = CELLS.get(entry.get("class_name"))
    if builder is None:
        raise UnsupportedModel(
            f"There is no reference forward for RNN cell class {entry.get('class_name')}.",
            {"class_name": str(entry.get("class_name"))},
        )
    return builder(entry.get("config") or {}, weights)


def cell_name(entry: dict) -> str:
    """The name Keras gives a cell's variables: its config name, else its snake-cased class."""
    return (entry.get("config") or {}).get("name") or to_snake_case(entry["class_name"])


def stacked_cells(entry: Any, weights: Weights) -> Cell:
    """StackedRNNCells: x_t → cell_1 → cell_2 → …, each with its own states (flattened in
    cell order); the output is the last cell's. Weights are named
    `<stacked name>/<cell name>/<variable>`."""
    entries = entry if isinstance(entry, list) else entry["config"]["cells"]
    stacked = "stacked_rnn_cells" if isinstance(entry, list) else cell_name(entry)
    cells = [build_cell(e, sublayer_weights(weights, f"{stacked}/{cell_name(e)}")) for e in entries]

    def step(x: np.ndarray, states: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        new_states, start = [], 0
        for one in cells:
            count = len(one.state_sizes)
            x, new = one.step(x, states[start : start + count])
            new_states += new
            start += count
        return x, new_states

    return Cell(step, tuple(size for one in cells for size in one.state_sizes))


# The loop ------------------------------------------------------------------------------------


def run_steps(
    one: Cell, x: np.ndarray, states: list[np.ndarray], mask: Mask, *, backwards: bool, zero: bool
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(outputs in processing order, final states); see the module docstring for masking."""
    order = range(x.shape[1] - 1, -1, -1) if backwards else range(x.shape[1])
    outputs: list[np.ndarray] = []
    for t in order:
        out, new = one.step(x[:, t], states)
        if mask is not None:
            keep = mask[:, t, None]
            fill = outputs[-1] if outputs and not zero else np.zeros_like(out)
            out = np.where(keep, out, fill)
            new = [np.where(keep, n, s) for n, s in zip(new, states, strict=True)]
        outputs.append(out)
        states = new
    return outputs, states


def _unrolled_backward_zeroing(
    sequence: np.ndarray, last: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Keras' TF backend with unroll=True, go_backwards, a mask and zero_output_for_mask
    (a Bidirectional's backward layer with return_sequences and unroll) fills masked steps
    with the previous output, then zeroes the sequence with the mask in the original time
    order while the sequence is in processing order. The check compares against that, so
    it is reproduced; the last output is zeroed where step 0 (processed last) is masked."""
    zero = np.zeros_like(sequence)
    sequence = np.where(mask[:, :, None], sequence, zero)
    return sequence, np.where(mask[:, :1], last, np.zeros_like(last))


def _initial_states(one: Cell, x: np.ndarray, given: list[np.ndarray]) -> list[np.ndarray]:
    """The states passed as further inputs (cast to x's dtype, as Keras casts them), else
    zeros (N, size) for each of the cell's states."""
    if given:
        return [np.asarray(s, dtype=x.dtype) for s in given]
    return [np.zeros((x.shape[0], size), dtype=x.dtype) for size in one.state_sizes]


def recurrent_layer(
    one: Cell, config: Config, inputs: list[np.ndarray], masks: list[Mask] | None
) -> Output:
    """Run `one` over inputs[0] (further inputs: initial states) with the layer's options."""
    time_major = bool(config.get("time_major", False))
    x = np.swapaxes(inputs[0], 0, 1) if time_major else inputs[0]
    mask = None if not masks or masks[0] is None else np.asarray(masks[0], dtype=bool)
    backwards = bool(config.get("go_backwards", False))
    zero = bool(config.get("zero_output_for_mask", False))
    quirk = zero and backwards and mask is not None and bool(config.get("unroll", False))
    states = _initial_states(one, x, inputs[1:])
    outputs, states = run_steps(one, x, states, mask, backwards=backwards, zero=zero and not quirk)
    sequence, last = np.stack(outputs, axis=1), outputs[-1]
    if quirk:
        sequence, last = _unrolled_backward_zeroing(sequence, last, mask)
    output = last
    if config.get("return_sequences", False):
        output = np.swapaxes(sequence, 0, 1) if time_major else sequence
    return [output, *states] if config.get("return_state", False) else output


# The layers ----------------------------------------------------------------------------------


@forward("SimpleRNN")
def simple_rnn(config: Config, weights: Weights, inputs: list[np.ndarray], training, masks=None):
    """SimpleRNN: the loop over `simple_rnn_cell`; x (N, T, F) → (N, units) or (N, T, units)."""
    return recurrent_layer(simple_rnn_cell(config, weights), config, inputs, masks)


@forward("LSTM")
def lstm(config: Config, weights: Weights, inputs: list[np.ndarray], training, masks=None):
    """LSTM: the loop over `lstm_cell`; x (N, T, F) → (N, units) or (N, T, units), then h, c."""
    return recurrent_layer(lstm_cell(config, weights), config, inputs, masks)


@forward("GRU")
def gru(config: Config, weights: Weights, inputs: list[np.ndarray], training, masks=None):
    """GRU (either `reset_after`): the loop over `gru_cell`; x (N, T, F) → (N, units) or
    (N, T, units), then h."""
    return recurrent_layer(gru_cell(config, weights), config, inputs, masks)


@forward("RNN")
def rnn(config: Config, weights: Weights, inputs: list[np.ndarray], training, masks=None):
    """RNN(cell): the loop over `config["cell"]` (one cell, or stacked cells)."""
    return recurrent_layer(build_cell(config["cell"], weights), config, inputs, masks)


@compute_mask("SimpleRNN", "LSTM", "GRU", "RNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")
def recurrent_mask(config: Config, inputs, masks: list[Mask], outputs) -> list[Mask]:
    """The input mask on the output sequence with return_sequences, else none; states: none."""
    mask = masks[0] if masks and config.get("return_sequences", False) else None
    return [mask, *[None] * (len(outputs) - 1)]
