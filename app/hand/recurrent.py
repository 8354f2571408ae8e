"""Recurrent layers by hand: SimpleRNN, LSTM, GRU, and RNN over a cell.

The per-step formula is the cell's; the sequence settings (return_sequences, go_backwards,
...) are the layer's. `cell_hand` is what Bidirectional, TimeDistributed and RNN reuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.hand.activations import HARD_SIGMOID
from app.hand.rules import Facts, Hand, activation_name, hand
from app.hand.rules import settings as line
from app.reference.recurrent import gru_reset_after

CELL_CLASSES = {"SimpleRNNCell": "SimpleRNN", "LSTMCell": "LSTM", "GRUCell": "GRU"}
LOOP = (
    "The step runs for t = 0 … T−1 from zero states (T−1 … 0 with go_backwards); y is h at the "
    "last step, or every h_t with return_sequences."
)


def sequence_settings(config: Mapping[str, Any]) -> list[str | None]:
    return [
        "return_sequences" if config.get("return_sequences") else None,
        "return_state" if config.get("return_state") else None,
        "go_backwards" if config.get("go_backwards") else None,
        "stateful" if config.get("stateful") else None,
    ]


def hard_sigmoid_note(*names: str) -> tuple[str, ...]:
    return (HARD_SIGMOID,) if "hard_sigmoid" in names else ()


def plus_bias(config: Mapping[str, Any], term: str) -> str:
    return term if not config.get("use_bias", True) else f"{term} + bias"


def simple_rnn_cell(config: Mapping[str, Any]) -> Hand:
    act = activation_name(config.get("activation", "tanh"))
    return Hand(
        settings=line(f"units {config.get('units', '?')}", act),
        formula=(f"h_t = {act}({plus_bias(config, 'x_t · kernel + h_{t−1} · recurrent_kernel')})"),
        conventions=("kernel is (features, units), recurrent_kernel (units, units).",),
    )


def lstm_cell(config: Mapping[str, Any]) -> Hand:
    act = activation_name(config.get("activation", "tanh"))
    rec = activation_name(config.get("recurrent_activation", "sigmoid"))
    units = config.get("units", "?")
    z = plus_bias(config, "x_t · kernel + h_{t−1} · recurrent_kernel")
    blocks = gate_blocks(units, ("i", "f", "c", "o"))
    return Hand(
        settings=line(f"units {units}", f"activation {act}", f"recurrent_activation {rec}"),
        formula=(
            f"z = {z}; i = {rec}(z_i), f = {rec}(z_f), o = {rec}(z_o); "
            f"c_t = f · c_{{t−1}} + i · {act}(z_c); h_t = o · {act}(c_t)"
        ),
        conventions=(
            "The gates sit side by side in kernel (features, 4·units), recurrent_kernel "
            f"(units, 4·units) and bias (4·units,) in the order i, f, c, o: {blocks}.",
            *hard_sigmoid_note(act, rec),
        ),
    )


def gru_cell(config: Mapping[str, Any]) -> Hand:
    act = activation_name(config.get("activation", "tanh"))
    rec = activation_name(config.get("recurrent_activation", "sigmoid"))
    units = config.get("units", "?")
    reset_after = gru_reset_after(config)
    blocks = gate_blocks(units, ("z", "r", "h"))
    if reset_after:
        candidate = f"h̃ = {act}(x_t · kernel_h + b_h + r · (h_{{t−1}} · recurrent_kernel_h + rb_h))"
        bias = (
            "bias is (2, 3·units): row 0 is added to x_t · kernel, "
            "row 1 to h_{t−1} · recurrent_kernel."
        )
    else:
        candidate = f"h̃ = {act}(x_t · kernel_h + b_h + (r · h_{{t−1}}) · recurrent_kernel_h)"
        bias = "bias is (3·units,), added to x_t · kernel only."
    return Hand(
        settings=line(
            f"units {units}",
            f"activation {act}",
            f"recurrent_activation {rec}",
            f"reset_after {reset_after}",
        ),
        formula=(
            f"z = {rec}(x_t · kernel_z + h_{{t−1}} · recurrent_kernel_z + b_z), "
            f"r = {rec}(x_t · kernel_r + h_{{t−1}} · recurrent_kernel_r + b_r); {candidate}; "
            "h_t = z · h_{t−1} + (1 − z) · h̃"
        ),
        conventions=(
            f"The gates sit side by side in the order z, r, h: {blocks} (PyTorch orders r, z, n).",
            f"reset_after {reset_after}: the reset gate is applied "
            + ("after" if reset_after else "before")
            + f" the recurrent multiplication; {bias}",
            *hard_sigmoid_note(act, rec),
        ),
    )


CELLS = {"SimpleRNN": simple_rnn_cell, "LSTM": lstm_cell, "GRU": gru_cell}


def gate_blocks(units: Any, gates: tuple[str, ...]) -> str:
    """`i [0:64], f [64:128], …` on the last axis, when units is known."""
    if not isinstance(units, int):
        return ", ".join(gates)
    return ", ".join(f"{g} [{k * units}:{(k + 1) * units}]" for k, g in enumerate(gates))


def cell_hand(class_name: str, config: Mapping[str, Any]) -> Hand | None:
    """The step of a recurrent layer or cell class (`LSTM` or `LSTMCell`), or None."""
    rule = CELLS.get(CELL_CLASSES.get(class_name, class_name))
    return rule(config) if rule else None


def with_sequence(step: Hand, config: Mapping[str, Any]) -> Hand:
    extra = line(*sequence_settings(config))
    settings = step.settings if extra == line() else f"{step.settings} · {extra}"
    return Hand(settings, step.formula, (*step.conventions, LOOP))


@hand("SimpleRNN", "LSTM", "GRU")
def recurrent(facts: Facts) -> Hand:
    step = cell_hand(facts.class_name, facts.config)
    assert step is not None  # registered for exactly the classes CELLS knows
    return with_sequence(step, facts.config)


@hand("RNN")
def rnn(facts: Facts) -> Hand:
    cells = cell_entries(facts.get("cell", {}))
    steps = [cell_hand(str(e.get("class_name")), e.get("config") or {}) for e in cells]
    names = ", ".join(str(e.get("class_name")) for e in cells)
    if not steps or any(s is None for s in steps):
        step = Hand(line(f"cell {names}"), f"h_t = cell(x_t, states_{{t−1}}) with {names}")
    elif len(steps) == 1:
        step = steps[0]
    else:
        step = Hand(
            line(f"cells {names}"),
            "; then ".join(f"cell {k + 1}: {s.formula}" for k, s in enumerate(steps)),
            ("Stacked cells: each cell's h_t is the next cell's x_t, each keeps its own states.",),
        )
    return with_sequence(step, facts.config)


def cell_entries(entry: Any) -> list[Mapping[str, Any]]:
    """The cells of an RNN's `cell` config: one, or the list StackedRNNCells holds."""
    if isinstance(entry, list):
        return [e for e in entry if isinstance(e, Mapping)]
    if isinstance(entry, Mapping) and entry.get("class_name") == "StackedRNNCells":
        return cell_entries((entry.get("config") or {}).get("cells", []))
    return [entry] if isinstance(entry, Mapping) else []
