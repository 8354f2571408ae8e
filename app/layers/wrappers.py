"""Wrappers: Bidirectional, TimeDistributed and SpectralNormalization, whose weights are the
wrapped layer's (SpectralNormalization adds its `vector_u`).

Keras 3 keeps the wrapped layer in `forward_layer`/`backward_layer` (Bidirectional) or
`layer` (TimeDistributed, SpectralNormalization); its weights are named after it
(`forward_lstm/lstm_cell/kernel`).
"""

from __future__ import annotations

from typing import Any

from app.graph import Shape, ShapeTree
from app.layers.recurrent import nest, sequences, to_snake_case
from app.layers.registry import Config, Traits, WeightSpec, lookup, register

FAMILY = "recurrent"  # as Keras groups them (keras.src.layers.rnn)


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
    family=FAMILY,
    summary=(
        "output = merge(forward_layer(x), backward_layer(reversed x)), merge_mode concat, "
        "sum, mul, ave or None (both outputs)."
    ),
    weights=bidirectional_weights,
    traits=Traits(wrapper=True, initial_states=True),
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
    family=FAMILY,
    summary="output[:, t] = layer(inputs[:, t]) for every timestep t, with one set of weights.",
    weights=time_distributed_weights,
    traits=Traits(wrapper=True, passes_mask=True),
)
def time_distributed_output(config: Config, input_shapes: list) -> ShapeTree:
    entry, inner = _inner_entry(config["layer"])
    child = entry.output_shape(inner, [_step_shape(input_shapes)])
    if not isinstance(child, tuple):
        raise ValueError("TimeDistributed wraps a layer with more than one output")
    return (child[0], sequences(input_shapes)[1], *child[1:])


def _normalized_weight(specs: list[WeightSpec]) -> WeightSpec:
    """The weight SpectralNormalization normalizes: the layer's `kernel`, else `embeddings`."""
    for role in ("kernel", "embeddings"):
        for spec in specs:
            if spec.name == role:
                return spec
    raise ValueError("SpectralNormalization wraps a layer with neither kernel nor embeddings")


def spectral_normalization_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """In Keras' `layer.weights` order: the layer's kernel (or embeddings), `vector_u`
    (1, kernel's last dimension: non-trainable), then the layer's other weights.

    The kernel is first because SpectralNormalization tracks it as its own variable (so a
    `.keras` file stores it at `vars/0` too, before `vector_u` at `vars/1`: `stored_twice`).
    """
    entry, inner = _inner_entry(config["layer"])
    specs = entry.weights(inner, input_shapes)
    kernel = _normalized_weight(specs)
    rest = [s for s in specs if s is not kernel]
    name = _inner_name(config["layer"])
    vector_u = WeightSpec("vector_u", "vector_u", (1, kernel.shape[-1]), trainable=False)
    return [*nest([kernel], name, "layer"), vector_u, *nest(rest, name, "layer")]


@register(
    "SpectralNormalization",
    family="normalization",  # as Keras groups it (keras.src.layers.normalization)
    summary=(
        "Inference: output = layer(inputs), the layer's kernel as stored; training: the "
        "kernel is first divided by its largest singular value (power iteration on vector_u)."
    ),
    weights=spectral_normalization_weights,
    traits=Traits(wrapper=True, stored_twice=("vars/0",)),
)
def spectral_normalization_output(config: Config, input_shapes: list) -> ShapeTree:
    entry, inner = _inner_entry(config["layer"])
    return entry.output_shape(inner, input_shapes)
