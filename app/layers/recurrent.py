"""Recurrent layers: SimpleRNN, LSTM, GRU, RNN (with a cell), ConvLSTM1D/2D/3D, and the
wrappers Bidirectional and TimeDistributed.

Keras 3 keeps a recurrent layer's variables in its `cell` (`lstm/lstm_cell/kernel`, stored
under `cell/vars/<i>`); wrappers keep the wrapped layer in `forward_layer`/`backward_layer` or
`layer`. Keras 2 configs are accepted: `time_major`, `implementation`, `unroll`,
`unit_forget_bias`, `hard_sigmoid` change no weight; `time_major=True` swaps the first two
axes of the sequences and of a returned sequence.
"""

from __future__ import annotations

import re
from typing import Any

from app.graph import Shape, ShapeTree
from app.layers.registry import Config, WeightSpec, lookup, normalize_tuple, register

GATES = {"SimpleRNNCell": 1, "GRUCell": 3, "LSTMCell": 4}
# The cells an RNN layer may hold at `cell` / `cells`: their weights are the RNN's.
RNN_CELLS = frozenset({*GATES, "StackedRNNCells"})
STATES = {"SimpleRNNCell": 1, "GRUCell": 1, "LSTMCell": 2}
LAYER_CELLS = {  # layer class -> (cell class, the name Keras 3 gives the cell)
    "SimpleRNN": ("SimpleRNNCell", "simple_rnn_cell"),
    "LSTM": ("LSTMCell", "lstm_cell"),
    "GRU": ("GRUCell", "gru_cell"),
}


def to_snake_case(name: str) -> str:
    """keras.src.utils.naming.to_snake_case: `LSTMCell` -> `lstm_cell`."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


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
)
def rnn_output(config: Config, input_shapes: list) -> ShapeTree:
    units, states = _cell_sizes(config["cell"])
    return recurrent_output(config, sequences(input_shapes), (units,), [(n,) for n in states])


# ConvLSTM ----------------------------------------------------------------------------------


def _conv_length(length, kernel: int, stride: int, padding: str, dilation: int):
    if length is None:
        return None
    if padding == "valid":
        return (length - dilation * (kernel - 1) - 1) // stride + 1
    return (length - 1) // stride + 1


def _conv_lstm_geometry(config: Config, rank: int, input_shapes: list):
    """(sequences shape, per-step spatial dims, input channels, kernel_size, channels_first)."""
    shape = sequences(input_shapes)
    first = config.get("data_format") == "channels_first"
    step = shape[2:]
    spatial, channels = (step[1:], step[0]) if first else (step[:-1], step[-1])
    return shape, spatial, channels, normalize_tuple(config["kernel_size"], rank), first


def _conv_lstm_weights(rank: int):
    def weights(config: Config, input_shapes: list) -> list[WeightSpec]:
        _, _, channels, kernel, _ = _conv_lstm_geometry(config, rank, input_shapes)
        filters = int(config["filters"])
        specs = [
            WeightSpec("kernel", "kernel", (*kernel, int(channels), 4 * filters)),
            WeightSpec("recurrent_kernel", "recurrent_kernel", (*kernel, filters, 4 * filters)),
        ]
        if config.get("use_bias", True):
            specs.append(WeightSpec("bias", "bias", (4 * filters,)))
        return nest(specs, "conv_lstm_cell", "cell")

    weights.__doc__ = (
        "kernel (*kernel_size, channels, 4·filters), recurrent_kernel "
        "(*kernel_size, filters, 4·filters), bias (4·filters,), owned by `cell`."
    )
    return weights


def _conv_lstm_output(rank: int):
    def output(config: Config, input_shapes: list) -> ShapeTree:
        shape, spatial, _, kernel, first = _conv_lstm_geometry(config, rank, input_shapes)
        strides = normalize_tuple(config.get("strides", 1), rank)
        dilation = normalize_tuple(config.get("dilation_rate", 1), rank)
        padding = str(config.get("padding", "valid")).lower()
        out = tuple(
            _conv_length(n, k, s, padding, d)
            for n, k, s, d in zip(spatial, kernel, strides, dilation, strict=True)
        )
        filters = int(config["filters"])
        feature = (filters, *out) if first else (*out, filters)
        return recurrent_output(config, shape, feature, [feature, feature])

    return output


for _rank in (1, 2, 3):
    register(
        f"ConvLSTM{_rank}D",
        family="recurrent",
        summary=(
            "An LSTM whose kernel and recurrent_kernel are convolutions: "
            "[i, f, c̃, o] = conv(x_t, kernel) + conv(h_{t−1}, recurrent_kernel) + bias."
        ),
        weights=_conv_lstm_weights(_rank),
    )(_conv_lstm_output(_rank))


# Wrappers ----------------------------------------------------------------------------------


def _inner_entry(layer: Any):
    class_name = layer.get("class_name") if isinstance(layer, dict) else None
    entry = lookup(class_name) if isinstance(class_name, str) else None
    if entry is None:
        raise ValueError(f"wrapped layer class {class_name!r} is not supported")
    return entry, layer.get("config") or {}


def _strip(name: str, prefix: str) -> str:
    return name[len(prefix) :] if name.startswith(prefix) else name


def _directions(config: Config) -> list[tuple[dict, str, str]]:
    """[(layer config entry, its name, owner)] for the forward then the backward layer."""
    layer = config["layer"]
    name = _inner_name(layer)
    forward = (layer, f"forward_{_strip(name, 'forward_')}", "forward_layer")
    backward_layer = config.get("backward_layer")
    if backward_layer:
        backward = (backward_layer, _inner_name(backward_layer), "backward_layer")
    else:
        backward = (layer, f"backward_{_strip(name, 'backward_')}", "backward_layer")
    return [forward, backward]


def _inner_name(layer: dict) -> str:
    return (layer.get("config") or {}).get("name") or to_snake_case(layer["class_name"])


def bidirectional_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """The forward layer's weights (`forward_<name>/...`, owner `forward_layer`), then the
    backward layer's (`backward_<name>/...`, owner `backward_layer`): the same shapes twice."""
    specs: list[WeightSpec] = []
    for layer, name, owner in _directions(config):
        entry, inner = _inner_entry(layer)
        specs += nest(entry.weights(inner, input_shapes), name, owner)
    return specs


@register(
    "Bidirectional",
    family="recurrent",
    summary=(
        "output = merge(forward_layer(x), backward_layer(reversed x)), merge_mode concat, "
        "sum, mul, ave or None (both outputs)."
    ),
    weights=bidirectional_weights,
)
def bidirectional_output(config: Config, input_shapes: list) -> ShapeTree:
    entry, inner = _inner_entry(config["layer"])
    shape = entry.output_shape(inner, input_shapes)
    return_state = bool(inner.get("return_state", False))
    output, states = (shape[0], list(shape[1:])) if return_state else (shape, [])
    merge_mode = config.get("merge_mode", "concat")
    if merge_mode == "concat":
        outputs = [(*output[:-1], None if output[-1] is None else 2 * output[-1])]
    elif merge_mode is None:
        outputs = [output, output]
    else:
        outputs = [output]
    if len(outputs) == 1 and not return_state:
        return outputs[0]
    return [*outputs, *states, *states]


def _step_shape(input_shapes: list) -> Shape:
    shape = sequences(input_shapes)
    if len(shape) < 3:
        raise ValueError("TimeDistributed needs inputs of rank 3 or more")
    return (shape[0], *shape[2:])


def time_distributed_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """The wrapped layer's weights for one timestep's shape (batch, *shape[2:]), named
    `<inner name>/...` and owned by `layer`: shared by every timestep."""
    entry, inner = _inner_entry(config["layer"])
    specs = entry.weights(inner, [_step_shape(input_shapes)])
    return nest(specs, _inner_name(config["layer"]), "layer")


@register(
    "TimeDistributed",
    family="recurrent",
    summary="output[:, t] = layer(inputs[:, t]) for every timestep t, with one set of weights.",
    weights=time_distributed_weights,
)
def time_distributed_output(config: Config, input_shapes: list) -> ShapeTree:
    entry, inner = _inner_entry(config["layer"])
    child = entry.output_shape(inner, [_step_shape(input_shapes)])
    if not isinstance(child, tuple):
        raise ValueError("TimeDistributed wraps a layer with more than one output")
    return (child[0], sequences(input_shapes)[1], *child[1:])
