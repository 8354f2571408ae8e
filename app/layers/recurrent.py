"""Recurrent layers: SimpleRNN, LSTM, GRU, and RNN (with a cell); their cells. ConvLSTM is in
`convlstm.py`, the wrappers Bidirectional and TimeDistributed in `wrappers.py`.

Keras 3 keeps a recurrent layer's variables in its `cell` (`lstm/lstm_cell/kernel`, stored
under `cell/vars/<i>`). Keras 2 configs are accepted: `time_major`, `implementation`, `unroll`,
`unit_forget_bias`, `hard_sigmoid` change no weight; `time_major=True` swaps the first two
axes of the sequences and of a returned sequence.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app.graph import Shape, ShapeTree
from app.layers.registry import (
    RECURRENT,
    Config,
    WeightSpec,
    register,
    register_structure,
)
from app.reference.forwards import to_snake_case
from app.reference.recurrent import gru_reset_after

GATES = {"SimpleRNNCell": 1, "GRUCell": 3, "LSTMCell": 4}
# The cells an RNN layer may hold at `cell` / `cells`: their weights are the RNN's.
RNN_CELLS = frozenset({*GATES, "StackedRNNCells"})
STATES = {"SimpleRNNCell": 1, "GRUCell": 1, "LSTMCell": 2}
LAYER_CELLS = {  # layer class -> (cell class, the name Keras 3 gives the cell)
    "SimpleRNN": ("SimpleRNNCell", "simple_rnn_cell"),
    "LSTM": ("LSTMCell", "lstm_cell"),
    "GRU": ("GRUCell", "gru_cell"),
}
LAYER_OF_CELL = {cell: layer for layer, (cell, _) in LAYER_CELLS.items()}
# LSTM's bias: `unit_forget_bias` sets the forget gate's block to 1.
LSTM_TRAITS = replace(RECURRENT, unit_forget_bias=True)

register_structure(*sorted(RNN_CELLS))


def nest(specs: list[WeightSpec], name: str, owner: str) -> list[WeightSpec]:
    """The specs of a sublayer `name` held at attribute `owner`, seen from the outer layer."""
    return [
        WeightSpec(f"{name}/{s.name}", s.role, s.shape, s.trainable, _join(owner, s.owner))
        for s in specs
    ]


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def sequences(input_shapes: list) -> Shape:
    """The `sequences` input; further inputs are initial states (or masks)."""
    shape = input_shapes[0]
    while isinstance(shape, list):
        shape = shape[0]
    return tuple(shape)


def batch_and_steps(config: Config, shape: Shape) -> tuple[Any, Any, Shape]:
    """(batch, timesteps, per-step features); Keras 2's `time_major` puts timesteps first."""
    if config.get("time_major", False):
        return shape[1], shape[0], tuple(shape[2:])
    return shape[0], shape[1], tuple(shape[2:])


# Cells -------------------------------------------------------------------------------------


def cell_weights(cell_class: str, cfg: Config, input_dim: int) -> list[WeightSpec]:
    """kernel (input_dim, gates·units), recurrent_kernel (units, gates·units), bias; gates is
    1 for SimpleRNN, 3 for GRU (z, r, h), 4 for LSTM (i, f, c, o). bias is (gates·units,),
    except GRU with reset_after: (2, 3·units), an input bias row and a recurrent bias row."""
    units = int(cfg["units"])
    width = GATES[cell_class] * units
    specs = [
        WeightSpec("kernel", "kernel", (int(input_dim), width)),
        WeightSpec("recurrent_kernel", "recurrent_kernel", (units, width)),
    ]
    if cfg.get("use_bias", True):
        two_rows = cell_class == "GRUCell" and gru_reset_after(cfg)
        specs.append(WeightSpec("bias", "bias", (2, width) if two_rows else (width,)))
    return specs


def _cell_class(cell: Any) -> str:
    if isinstance(cell, list):
        return "StackedRNNCells"
    class_name = cell.get("class_name")
    if class_name not in (*GATES, "StackedRNNCells"):
        raise ValueError(f"unsupported RNN cell {class_name!r}")
    return class_name


def _stacked_cells(cell: Any) -> list[dict]:
    return cell if isinstance(cell, list) else list(cell.get("config", {}).get("cells", []))


def _cell_name(cell: dict) -> str:
    return cell.get("config", {}).get("name") or to_snake_case(cell["class_name"])


def rnn_cell_weights(cell: Any, input_dim: int) -> list[WeightSpec]:
    """An RNN's `cell` config: one cell at `cell`, or StackedRNNCells whose cells sit at
    `cell/cells/<snake_case class>[_k]`, each fed the previous cell's units."""
    if _cell_class(cell) != "StackedRNNCells":
        specs = cell_weights(cell["class_name"], cell.get("config", {}), input_dim)
        return nest(specs, _cell_name(cell), "cell")
    stacked_name = "stacked_rnn_cells" if isinstance(cell, list) else _cell_name(cell)
    specs, used = [], {}
    for inner in _stacked_cells(cell):
        class_name = _cell_class(inner)
        key = to_snake_case(class_name)
        used[key] = used.get(key, -1) + 1
        owner = f"cell/cells/{key}_{used[key]}" if used[key] else f"cell/cells/{key}"
        own = cell_weights(class_name, inner.get("config", {}), input_dim)
        specs += nest(own, f"{stacked_name}/{_cell_name(inner)}", owner)
        input_dim = int(inner["config"]["units"])
    return specs


def _cell_sizes(cell: Any) -> tuple[int, list[int]]:
    """(output units, every state's units in flattened order)."""
    if _cell_class(cell) != "StackedRNNCells":
        units = int(cell["config"]["units"])
        return units, [units] * STATES[cell["class_name"]]
    states: list[int] = []
    units = 0
    for inner in _stacked_cells(cell):
        units, inner_states = _cell_sizes(inner)
        states += inner_states
    return units, states


# Output shapes -----------------------------------------------------------------------------


def recurrent_output(config: Config, shape: Shape, feature: tuple, states: list) -> ShapeTree:
    """(batch, feature...), or (batch, timesteps, feature...) with return_sequences; with
    return_state, then one (batch, state...) per state (h; h and c for LSTM), flattened in
    cell order for stacked cells, as a graph's tensor indices count them."""
    batch, steps, _ = batch_and_steps(config, shape)
    if not config.get("return_sequences", False):
        output: Shape = (batch, *feature)
    elif config.get("time_major", False):
        output = (steps, batch, *feature)
    else:
        output = (batch, steps, *feature)
    if not config.get("return_state", False):
        return output
    return [output, *[(batch, *state) for state in states]]


def _layer_cell(config: Config, class_name: str) -> dict:
    cell_class, cell_name = LAYER_CELLS[class_name]
    return {"class_name": cell_class, "config": {**config, "name": cell_name}}


def _simple_layer_weights(class_name: str):
    def weights(config: Config, input_shapes: list) -> list[WeightSpec]:
        _, _, step = batch_and_steps(config, sequences(input_shapes))
        return rnn_cell_weights(_layer_cell(config, class_name), step[-1])

    weights.__doc__ = f"The {class_name} cell's weights, see `cell_weights`, owned by `cell`."
    return weights


def _simple_layer_output(class_name: str):
    def output(config: Config, input_shapes: list) -> ShapeTree:
        cell_class, _ = LAYER_CELLS[class_name]
        units = int(config["units"])
        states = [(units,)] * STATES[cell_class]
        return recurrent_output(config, sequences(input_shapes), (units,), states)

    return output


_SUMMARIES = {
    "SimpleRNN": "h_t = activation(x_t · kernel + h_{t−1} · recurrent_kernel + bias).",
    "LSTM": (
        "[i, f, c̃, o] = x_t · kernel + h_{t−1} · recurrent_kernel + bias; "
        "c_t = f·c_{t−1} + i·c̃, h_t = o·activation(c_t), gates through recurrent_activation."
    ),
    "GRU": (
        "[z, r, h̃] from x_t · kernel and h_{t−1} · recurrent_kernel (+ bias); "
        "h_t = z·h_{t−1} + (1 − z)·h̃, with r applied after the recurrent product if reset_after."
    ),
}

for _name in LAYER_CELLS:
    register(
        _name,
        family="recurrent",
        summary=_SUMMARIES[_name],
        weights=_simple_layer_weights(_name),
        traits=LSTM_TRAITS if _name == "LSTM" else RECURRENT,
    )(_simple_layer_output(_name))


def rnn_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """The weights of `config["cell"]` (see `rnn_cell_weights`) on the per-step features."""
    _, _, step = batch_and_steps(config, sequences(input_shapes))
    return rnn_cell_weights(config["cell"], step[-1])


@register(
    "RNN",
    family="recurrent",
    summary="output_t, states_t = cell(x_t, states_{t−1}), looped over the timesteps.",
    weights=rnn_weights,
    traits=RECURRENT,
)
def rnn_output(config: Config, input_shapes: list) -> ShapeTree:
    units, states = _cell_sizes(config["cell"])
    return recurrent_output(config, sequences(input_shapes), (units,), [(n,) for n in states])
