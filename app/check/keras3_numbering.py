"""A Keras 2 model's references to its nested models' calls, numbered as Keras 3 reads them:
one rule of the Keras 3 copy (app.check.keras3_copy).

Keras 2 counted the node a nested model makes for itself where the reader found so
(`ModelConfig.counted_from_one`, app.safety.model_config); Keras 3 rebuilds the model
without one.
"""

from __future__ import annotations

from typing import Any

from app.check.keras3_changes import Removal, Rewrite
from app.errors import InvalidSpec
from app.safety.model_config import ModelConfig, check_model_config

CONTAINERS = frozenset({"Sequential", "Functional", "Model"})


def nested_model_calls(config: Any, changes: list[Removal]) -> None:
    """A Keras 2 model's references to its nested models' calls, as Keras 3 reads them.

    Which nested models the file counts from 1 (their own node counted) is the reader's
    decision, taken on this very config (`ModelConfig.counted_from_one`,
    app.safety.model_config). Keras 3 rebuilds a nested model without a node of its own: a
    layer's inbound reference names its call from 0, while a model endpoint naming a
    Functional counts from 1 (`get_tensor` in `functional_from_config` takes one off) and
    one naming a Sequential from 0."""
    model = _checked(config)
    if model is not None:
        for functional in _keras2_functionals(model):
            _renumber_nested_calls(functional, changes)


def _checked(config: Any) -> ModelConfig | None:
    """The checked model of a file's config, or of a graph's (the model's own `config`)."""
    if isinstance(config, dict) and config.get("class_name") not in CONTAINERS:
        own = "Functional" if "output_layers" in config else "Sequential"
        config = {"class_name": own, "config": config}
    try:
        return check_model_config(config)
    except InvalidSpec:
        return None


def _keras2_functionals(model: ModelConfig):
    if model.keras2_nodes:
        yield model
    for entry in model.layers:
        if entry.inner is not None:
            yield from _keras2_functionals(entry.inner)


def _renumber_nested_calls(model: ModelConfig, changes: list[Removal]) -> None:
    nested = {entry.name: entry.class_name for entry in model.layers if entry.inner is not None}
    renumbered: set[str] = set()
    for item in model.config["layers"]:
        for node in item.get("inbound_nodes") or [] if isinstance(item, dict) else []:
            for ref in node if isinstance(node, list) else []:
                if _plain_or_keyword_ref(ref) and ref[0] in model.counted_from_one:
                    ref[1] -= 1
                    renumbered.add(ref[0])
    for ref in _endpoint_refs(model.config.get("output_layers")):
        if ref[0] in nested:
            shift = int(nested[ref[0]] != "Sequential") - int(ref[0] in model.counted_from_one)
            if shift:
                ref[1] += shift
                renumbered.add(ref[0])
    for name in sorted(renumbered):
        changes.append(
            Rewrite(
                name,
                nested[name],
                "calls",
                "numbered as Keras 3 reads them (Keras 2 "
                "counted the node a nested model makes for itself)",
            )
        )


def _endpoint_refs(endpoints: Any) -> list[list]:
    if _plain_or_keyword_ref(endpoints):
        return [endpoints]
    return [ref for ref in endpoints or [] if _plain_or_keyword_ref(ref)]


def _plain_or_keyword_ref(ref: Any) -> bool:
    return (
        isinstance(ref, list)
        and len(ref) in (3, 4)
        and isinstance(ref[0], str)
        and isinstance(ref[1], int)
    )
