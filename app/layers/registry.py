"""The layer registry: the one place that knows a Keras layer class.

For each supported `class_name` it says which weights the layer creates (name, role, shape,
trainable, in Keras' own order) from its config and input shapes, and what its output shape is.
It is also the allowlist: a class that is not registered is never handed to Keras.

Family modules (`core.py`, `convolution.py`, ...) register their classes with `@register`;
`app.layers` imports them all. Shapes are tuples with `None` for unknown dimensions, batch
first. `input_shapes` is always a list, one entry per input tensor of the call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.graph import Shape, ShapeTree

Config = dict[str, Any]
WeightsFn = Callable[[Config, list[ShapeTree]], list["WeightSpec"]]
OutputShapeFn = Callable[[Config, list[ShapeTree]], ShapeTree]


@dataclass(frozen=True)
class WeightSpec:
    """One weight a layer creates.

    `name` is the variable's path inside the layer as Keras reports it (`weight.path` without the
    layer's own name: `kernel`, `lstm_cell/kernel`, `forward_gru/gru_cell/bias`). `owner` is the
    attribute path of the object that owns the
    variable inside the layer (`""` for the layer itself, `cell`, `forward_layer/cell`,
    `_query_dense`): in a `.keras` weights file the variable is stored at
    `<layer path>/<owner>/vars/<i>`, where `i` counts the owner's variables in this order.
    """

    name: str
    role: str
    shape: tuple[int, ...]
    trainable: bool = True
    owner: str = ""


@dataclass(frozen=True)
class LayerType:
    class_name: str
    family: str
    summary: str  # one sentence: what the layer computes, in Keras vocabulary
    output_shape: OutputShapeFn
    weights: WeightsFn
    aliases: tuple[str, ...] = field(default_factory=tuple)


REGISTRY: dict[str, LayerType] = {}


def no_weights(config: Config, input_shapes: list[ShapeTree]) -> list[WeightSpec]:
    return []


def register(
    class_name: str,
    *,
    family: str,
    summary: str,
    weights: WeightsFn = no_weights,
    aliases: tuple[str, ...] = (),
) -> Callable[[OutputShapeFn], OutputShapeFn]:
    """Decorator on a layer class's output-shape function."""

    def decorate(output_shape: OutputShapeFn) -> OutputShapeFn:
        entry = LayerType(class_name, family, summary, output_shape, weights, aliases)
        for name in (class_name, *aliases):
            if name in REGISTRY:
                raise RuntimeError(f"layer class {name} registered twice")
            REGISTRY[name] = entry
        return output_shape

    return decorate


def lookup(class_name: str) -> LayerType | None:
    _load_families()
    return REGISTRY.get(class_name)


def known_classes() -> list[str]:
    _load_families()
    return sorted(REGISTRY)


def _load_families() -> None:
    import app.layers  # noqa: F401  (importing the package registers every family)


# Helpers shared by family modules --------------------------------------------------------


def single(input_shapes: list[ShapeTree]) -> Shape:
    """The one input shape of a single-input layer."""
    shape = input_shapes[0]
    while isinstance(shape, list) and len(shape) == 1:
        shape = shape[0]
    if isinstance(shape, list):
        raise ValueError("expected one input tensor")
    return tuple(shape)


def same_shape(config: Config, input_shapes: list[ShapeTree]) -> Shape:
    return single(input_shapes)


def channel_axis(config: Config, rank: int) -> int:
    """The channel axis (non-negative) for `data_format` in a tensor of `rank`."""
    return 1 if config.get("data_format") == "channels_first" else rank - 1


def normalize_tuple(value: Any, n: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) == 1 and n > 1:
        return value * n
    return value
