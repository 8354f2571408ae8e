"""The hand's contract and index: per Keras layer class, the words a person needs to compute
the layer by hand.

`HANDS` maps a `class_name` to a function `fn(facts) -> Hand`, registered with `@hand(...)`
in the family module named like the class's `app/layers` module (Dense: `layers/core.py`,
`hand/core.py`). A `Hand` holds:

- `settings`: the config values that change the math, one compact line
  (`relu · strides 2 · padding same · no bias`);
- `formula`: the computation in Keras vocabulary with this layer's own numbers
  (`y = gamma · (x − moving_mean) / √(moving_variance + 0.001) + beta`);
- `conventions`: the sentences that bite a hand-written port, only where they apply to this
  layer (a kernel's layout, TensorFlow's "same" padding, LSTM's gate order, ...).

The shapes, the small weights' values and the code are the same for every class and are
added by `app.analysis.forward`; nothing here reads weights' values or renders HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Shape = tuple[int | None, ...]


@dataclass(frozen=True)
class Facts:
    """What a rule may read about one layer: its class, config and shapes (first call)."""

    class_name: str
    config: Mapping[str, Any]
    input_shapes: Sequence[Shape] = ()
    output_shape: Shape | None = None
    weights: Sequence[tuple[str, str, tuple[int, ...]]] = ()  # (name, role, shape)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.config.get(key, default)
        return default if value is None else value

    def has(self, role: str) -> bool:
        return any(r == role for _, r, _ in self.weights)

    @property
    def input_shape(self) -> Shape:
        return tuple(self.input_shapes[0]) if self.input_shapes else ()


@dataclass(frozen=True)
class Hand:
    settings: str
    formula: str
    conventions: tuple[str, ...] = field(default_factory=tuple)


HandFn = Callable[[Facts], Hand]
HANDS: dict[str, HandFn] = {}
NO_SETTINGS = "no settings"


def hand(*class_names: str) -> Callable[[HandFn], HandFn]:
    """Register the hand of one or more Keras class names."""

    def decorate(fn: HandFn) -> HandFn:
        for name in class_names:
            if name in HANDS:
                raise RuntimeError(f"hand for {name} registered twice")
            HANDS[name] = fn
        return fn

    return decorate


# Pieces the family modules share --------------------------------------------------------


def settings(*parts: str | None) -> str:
    """The non-empty parts joined by ` · `; `no settings` when there are none."""
    kept = [p for p in parts if p]
    return " · ".join(kept) if kept else NO_SETTINGS


def activation_name(spec: Any) -> str:
    """A config's `activation` as Keras names it (None is `linear`)."""
    if isinstance(spec, dict):
        inner = spec.get("config")
        if isinstance(inner, dict):
            inner = inner.get("name")
        return str(inner or spec.get("class_name") or "linear")
    return str(spec) if spec else "linear"


def applied(activation: str, inner: str) -> str:
    """`relu(inner)`, or `inner` alone for `linear`."""
    return inner if activation == "linear" else f"{activation}({inner})"


def number(value: Any) -> str:
    """A config number as a person writes it: `0.001`, `2`, `1e-05`."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def ints(value: Any, rank: int | None = None) -> tuple[int, ...]:
    """An int or a sequence of ints as a tuple (an int repeated `rank` times)."""
    if isinstance(value, int):
        return (value,) * (rank or 1)
    return tuple(int(v) for v in value)


def compact(value: Any, rank: int | None = None) -> str:
    """`2` when every entry is 2, else `(2, 1)`."""
    values = ints(value, rank)
    if len(set(values)) == 1:
        return str(values[0])
    return "(" + ", ".join(str(v) for v in values) + ")"


def shape_text(shape: Iterable[Any] | None) -> str:
    """`(None, 4096)`, `(512,)`."""
    if shape is None:
        return "?"
    dims = ["None" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def channels_first(facts: Facts) -> bool:
    return facts.get("data_format", "channels_last") == "channels_first"


def data_format(facts: Facts) -> str | None:
    """`channels_first` when set; Keras' default channels_last goes without saying."""
    return "channels_first" if channels_first(facts) else None


def axis_text(value: Any) -> str:
    return compact(value) if not isinstance(value, int) else str(value)


def bias_setting(facts: Facts) -> str | None:
    return None if facts.get("use_bias", True) else "no bias"
