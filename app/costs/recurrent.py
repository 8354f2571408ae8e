"""Costs of the recurrent layers and the wrappers: per step × steps.

A cell's step is one contraction of [x_t, h_{t−1}] with [kernel; recurrent_kernel] per gate:
gates × units × (input_dim + units) MACs (GRU counted the same whether reset_after or not).
Per step and unit besides: a bias add per gate (two per gate for GRU's reset_after), an
activation per gate, and the state update's element-wise steps, which the table says.
"""

from __future__ import annotations

from app.costs.rules import COSTS, Cost, cost, size

GATES = {"SimpleRNNCell": 1, "GRUCell": 3, "LSTMCell": 4}
# Per unit and step: activations beyond one per gate, and element-wise state-update steps.
#   SimpleRNN: h = act(z)                                  0 more, 0 updates
#   LSTM: c = f·c + i·g; h = o·act(c)                      1 more (act(c)), 4 updates
#   GRU: h̃ from r·(…); h = z·h + (1 − z)·h̃                 0 more, 5 updates
EXTRA = {"SimpleRNNCell": (0, 0), "LSTMCell": (1, 4), "GRUCell": (0, 5)}
LAYER_CELLS = {"SimpleRNN": "SimpleRNNCell", "LSTM": "LSTMCell", "GRU": "GRUCell"}


def cell_step(cell_class: str, config: dict, input_dim: int) -> tuple[Cost, int]:
    """One step of a cell on `input_dim` features, and its output size."""
    if cell_class == "StackedRNNCells":
        total, width = Cost(), input_dim
        for cell in config["cells"]:
            step, width = cell_step(cell["class_name"], cell.get("config") or {}, width)
            total = total + step
        return total, width
    units, gates = int(config["units"]), GATES[cell_class]
    more, updates = EXTRA[cell_class]
    biases = gates * units if config.get("use_bias", True) else 0
    if cell_class == "GRUCell" and config.get("reset_after", True):
        biases *= 2
    other = (
        (biases, "bias adds"),
        ((gates + more) * units, "activations"),
        (updates * units, "state updates"),
    )
    text = f"{units} units × ({input_dim} + {units})"
    if gates > 1:
        text = f"{gates} gates × {text}"
    macs = gates * units * (input_dim + units)
    return Cost(macs, text, tuple(t for t in other if t[0])), units


def _steps_and_features(config: dict, inputs) -> tuple[int, int]:
    """(timesteps, features per step); Keras 2's `time_major` puts timesteps first."""
    x = inputs[0]
    return (x[0] if config.get("time_major") else x[1]), x[-1]


def _layer_rule(cell_class: str):
    def rule(config, inputs, outputs) -> Cost:
        steps, features = _steps_and_features(config, inputs)
        step, _ = cell_step(cell_class, config, features)
        return step.times(steps, "steps")

    return rule


for _layer, _cell in LAYER_CELLS.items():
    cost(_layer)(_layer_rule(_cell))


@cost("RNN")
def rnn(config, inputs, outputs) -> Cost:
    steps, features = _steps_and_features(config, inputs)
    cell = config["cell"]
    step, _ = cell_step(cell["class_name"], cell.get("config") or {}, features)
    return step.times(steps, "steps")


def inner_cost(layer: dict, inputs, outputs) -> Cost:
    """The wrapped layer's cost by its own rule."""
    return COSTS[layer["class_name"]](layer.get("config") or {}, inputs, outputs)


@cost("Bidirectional")
def bidirectional(config, inputs, outputs) -> Cost:
    """The forward and the backward layer, then the merge (sum, mul, ave: per element)."""
    mode = config.get("merge_mode", "concat")
    out = outputs[0]
    inner_out = [(*out[:-1], out[-1] // 2)] if mode == "concat" else [out]
    total = Cost()
    for key in ("layer", "backward_layer"):
        total = total + inner_cost(config.get(key) or config["layer"], inputs, inner_out)
    if mode in ("sum", "mul", "ave"):
        merged = size(outputs[0])
        total = total + Cost(other=((merged * (2 if mode == "ave" else 1), f"{mode} merge"),))
    return total


@cost("TimeDistributed")
def time_distributed(config, inputs, outputs) -> Cost:
    """The wrapped layer on one timestep, × steps."""
    x, out = inputs[0], outputs[0]
    step = inner_cost(config["layer"], [(1, *x[2:])], [(1, *out[2:])])
    return step.times(x[1], "steps")


@cost("SpectralNormalization")
def spectral_normalization(config, inputs, outputs) -> Cost:
    """The wrapped layer's (at inference the kernel is used as stored)."""
    return inner_cost(config["layer"], inputs, outputs)
