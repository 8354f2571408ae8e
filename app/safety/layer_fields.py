"""Every field of a layer config that the explainer reads, checked once, at the edge.

`checked_config` reads each key of a layer's config by its field (`app.layers.fields`: the
class's own declarations, then the shared vocabulary) and gives back the config with each
value in the form downstream code assumes, and the problems found: all of them, for every
layer, nested layers (a Bidirectional's `layer`, an RNN's `cell`) included. The model config
check (`app.safety.model_config`) raises them together as one `InvalidSpec`, naming each
layer, field and what was expected, so no reader, analysis or forward meets a wrong type.

A class the explainer does not know (a custom layer) has only the fields every layer has
checked (`UNIVERSAL`): its other keys mean what its author chose.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.errors import InvalidSpec
from app.layers.fields import UNIVERSAL, WrongValue, field_of
from app.layers.registry import allowed_modules, fields_of

JSON = dict[str, Any]
SHOWN_CHARS = 40
MAX_LISTED = 20  # problems spelled out in the message; `details` has them all


@dataclass(frozen=True)
class Problem:
    """One field of one layer that is not what its class reads."""

    layer: str
    class_name: str
    field: str
    value: str  # the value as written, cut short
    expected: str

    def sentence(self) -> str:
        return (
            f"layer {self.layer!r} ({self.class_name}): `{self.field}` is {self.value}, "
            f"expected {self.expected}"
        )


def checked_config(class_name: str, layer: str, config: JSON) -> tuple[JSON, list[Problem]]:
    """`config` with every field it holds read by its field, and the problems found."""
    declared = fields_of(class_name)
    known = allowed_modules(class_name) is not None
    out, problems = dict(config), []
    for key, value in config.items():
        field = (field_of(key, declared) if known else None) or UNIVERSAL.get(key)
        if field is None:
            continue
        try:
            out[key] = field.read(value)
        except WrongValue:
            problems.append(Problem(layer, class_name, key, _shown(value), field.expected))
            continue
        if field.nested and out[key] is not None:
            out[key], inner = _nested(out[key], layer)
            problems.extend(inner)
    return out, problems


def _nested(value: Any, layer: str) -> tuple[Any, list[Problem]]:
    """A nested layer (or list of them), each checked by its own class's fields."""
    if isinstance(value, list):
        pairs = [_nested(item, layer) for item in value]
        return [item for item, _ in pairs], [p for _, found in pairs for p in found]
    config = value.get("config") or {}
    name = config.get("name") if isinstance(config.get("name"), str) else value["class_name"]
    checked, problems = checked_config(value["class_name"], f"{layer}/{name}", config)
    return {**value, "config": checked}, problems


def raise_problems(problems: list[Problem]) -> None:
    """One `InvalidSpec` naming every problem (the first `MAX_LISTED` in the sentence)."""
    if not problems:
        return
    listed = "; ".join(p.sentence() for p in problems[:MAX_LISTED])
    more = len(problems) - MAX_LISTED
    tail = f"; and {more} more (see details)" if more > 0 else ""
    noun = "field that is" if len(problems) == 1 else "fields that are"
    raise InvalidSpec(
        f"The model config has {len(problems)} {noun} not what Keras writes: {listed}{tail}.",
        details={"problems": [p.__dict__ for p in problems]},
    )


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"
