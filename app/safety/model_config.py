"""A model config's structure, checked into typed entries before any reader sees it.

Every config (a `.keras` archive's `config.json`, a legacy file's `model_config`, a spec) is
the same kind of object, `{"class_name", "config"}`, as Keras 2 and Keras 3 write it. What a
reader relies on is checked here, once, and handed on typed (`ModelConfig`, `LayerEntry`,
`Call`); a config that does not hold it raises `InvalidSpec` with a sentence saying what is
missing. Variants accepted: Sequential configs that are a bare list (Keras 2.0/2.1);
`batch_input_shape` (Keras 2), `batch_shape` (Keras 3), `input_shape`/`input_dim` on the first
layer; inbound nodes as Keras 2 lists (`[["dense_1", 0, 0, {}]]`) or Keras 3 `args`/`kwargs`
trees of `__keras_tensor__` objects; `input_layers` flat or nested, or a dict.

What the values mean (which call argument is data, the InputLayer Keras adds to a Sequential)
is the reader's business (`app.formats.config`): here only what is written is checked.

This module walks a config's models and layers; the pieces it calls on: the typed entries
(`app.safety.config_entries`), a layer's calls and a model's endpoints as `inbound_nodes`
and `input_layers` write them (`app.safety.inbound_nodes`), the calls of tf.keras op layers
(`app.safety.op_layer_calls`), and which call of a nested model a reference means
(`app.safety.node_numbering`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app.errors import InvalidSpec
from app.graph import CONTAINER_CLASSES, TensorRef
from app.layers.fields import SHAPE_TREE, WrongValue
from app.layers.operations import operation_name
from app.layers.registry import traits_of
from app.safety.config_entries import JSON, Call, LayerEntry, ModelConfig, OperationCall
from app.safety.inbound_nodes import (
    are_keras2_nodes,
    endpoints_of,
    keras3_written,
    layer_calls,
    operation_call_of,
)
from app.safety.layer_fields import Problem, checked_config, raise_problems
from app.safety.node_numbering import (
    counted_from_one,
    endpoints_from_zero,
    nested_calls_from_zero,
)
from app.safety.op_layer_calls import op_layer_calls

__all__ = ["Call", "LayerEntry", "ModelConfig", "OperationCall", "check_model_config"]


def check_model_config(obj: Any) -> ModelConfig:
    """The `{"class_name": ..., "config": ...}` object of a Sequential or Functional model,
    every layer's fields checked (`InvalidSpec` naming them all when some are wrong)."""
    model = _model_config(obj)
    raise_problems(model.all_problems())
    return model


def _model_config(obj: Any) -> ModelConfig:
    if not isinstance(obj, dict) or "class_name" not in obj:
        raise InvalidSpec(
            "The model config has no `class_name`: expected the JSON that model.to_json() writes."
        )
    class_name = obj["class_name"]
    held = _held_model(obj)
    if isinstance(class_name, str) and class_name not in CONTAINER_CLASSES and held is not None:
        inner = _container(held["class_name"], held.get("config"), held)
        return replace(inner, subclass=class_name)
    if not isinstance(class_name, str) or class_name not in CONTAINER_CLASSES:
        raise InvalidSpec(
            f"The top-level object is a {_quote(class_name)}, not a model: expected a "
            "Sequential or Functional model as model.to_json() writes it."
        )
    module = obj.get("module")
    model = _container(class_name, obj.get("config"), obj)
    return replace(model, module=module) if isinstance(module, str) else model


def _held_model(obj: JSON) -> JSON | None:
    """The one Sequential or Functional model a subclassed model's config holds, if it holds
    exactly one (`get_config()` of a `keras.Model` subclass returns what its author chose:
    often the model it wraps, e.g. `{"embedding_model": <Sequential>}`)."""
    config = obj.get("config")
    if not isinstance(config, dict):
        return None
    models = [
        value
        for value in config.values()
        if isinstance(value, dict) and _class_of(value) in CONTAINER_CLASSES
    ]
    return models[0] if len(models) == 1 else None


def _container(class_name: str, config: Any, entry: JSON) -> ModelConfig:
    if class_name == "Sequential":
        return _sequential(config, entry)
    return _functional(config)


def _sequential(config: Any, entry: JSON) -> ModelConfig:
    if isinstance(config, list):  # Keras 2.0 / 2.1 wrote the layer list itself, and no name
        config = {"layers": config}
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise InvalidSpec("A Sequential config must hold a `layers` list.")
    name = str(config.get("name", "sequential"))
    items = list(config["layers"])
    input_layer = None
    if items and _class_of(items[0]) == "InputLayer":
        input_layer = _entry(items.pop(0))
    layers = [_entry(item) for item in items]
    shape = None if input_layer is not None else _implicit_shape(layers, config, entry)
    names = [input_layer.name if input_layer else f"{name}_input", *(e.name for e in layers)]
    _check_unique(names, name)
    problems = []
    if shape is not None:
        shape, problems = _implicit_checked(shape, names[0])
    return ModelConfig("Sequential", name, config, layers, input_layer, shape, problems=problems)


def _implicit_shape(layers: list[LayerEntry], config: JSON, entry: JSON) -> list[Any] | None:
    """The batch shape of the InputLayer Keras creates for a Sequential whose first layer
    carries the shape (or whose build config records it)."""
    shape = None
    if layers:
        shape = _declared_batch_shape(layers[0].config)
        if shape is None:
            shape = layers[0].build_input_shape
    if shape is None:
        shape = config.get("build_input_shape") or _build_shape(entry)
    return list(shape) if isinstance(shape, list) and shape else None


def _implicit_checked(shape: list[Any], name: str) -> tuple[list[Any], list[Problem]]:
    """The implicit InputLayer's shape, checked as an InputLayer's `batch_shape` is."""
    config, problems = checked_config("InputLayer", name, {"batch_shape": shape})
    return config["batch_shape"], problems


def _declared_batch_shape(cfg: JSON) -> list[Any] | None:
    """The batch shape a layer config declares. A value of the wrong type is the field
    check's to report (the config is refused before anything reads what this returns)."""
    for key in ("batch_input_shape", "batch_shape"):
        if cfg.get(key) is not None:
            return list(cfg[key]) if isinstance(cfg[key], list) else None
    if cfg.get("input_shape") is not None:
        return [None, *cfg["input_shape"]] if isinstance(cfg["input_shape"], list) else None
    if cfg.get("input_dim") is not None:  # Keras 1 Dense
        return [None, cfg["input_dim"]]
    return None


def _build_shape(entry: JSON) -> list[Any] | None:
    build = entry.get("build_config") if isinstance(entry, dict) else None
    if isinstance(build, dict) and isinstance(build.get("input_shape"), list):
        return list(build["input_shape"])
    return None


def _functional(config: Any) -> ModelConfig:
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise InvalidSpec("A Functional config must hold a `layers` list.")
    name = str(config.get("name", "functional"))
    layers = [_functional_member(item) for item in config["layers"]]
    _check_unique([entry.name for entry in layers], name)
    inputs = endpoints_of(config.get("input_layers"), "input_layers")
    outputs = endpoints_of(config.get("output_layers"), "output_layers")
    keras2_nodes = not keras3_written(config["layers"])
    shifted: frozenset[str] = frozenset()
    if keras2_nodes:
        shifted = counted_from_one(layers, outputs)
        layers, outputs = nested_calls_from_zero(layers, outputs, shifted)
    else:
        inputs, outputs = (
            endpoints_from_zero(layers, inputs),
            endpoints_from_zero(layers, outputs),
        )
    _check_connected(layers, inputs + outputs)
    return ModelConfig(
        "Functional",
        name,
        config,
        layers,
        inputs=inputs,
        outputs=outputs,
        keras2_nodes=keras2_nodes,
        counted_from_one=shifted,
    )


def _functional_member(item: Any) -> LayerEntry:
    entry = _entry(item)
    inbound = item.get("inbound_nodes", []) if isinstance(item, dict) else []
    if traits_of(entry.class_name).op_layer and are_keras2_nodes(inbound):
        calls, operation_call = op_layer_calls(entry.name, inbound)
        return replace(entry, calls=calls, operation_call=operation_call)
    calls = layer_calls(entry.name, inbound)
    operation_call = None
    if entry.operation is not None:
        operation_call = operation_call_of(item.get("inbound_nodes") or [])
    return replace(entry, calls=calls, operation_call=operation_call)


def _check_connected(layers: list[LayerEntry], endpoints: list[TensorRef]) -> None:
    known = {entry.name for entry in layers}
    for ref in endpoints:
        if ref.layer not in known:
            raise InvalidSpec(f"The model's inputs or outputs name a layer {ref.layer!r} it lacks.")
    for entry in layers:
        for refs in [*(c.inputs for c in entry.calls), *(c.extras for c in entry.calls)]:
            for ref in refs:
                if ref.layer not in known:
                    raise InvalidSpec(
                        f"Layer {entry.name!r} is connected to a layer {ref.layer!r} that the "
                        "config does not define."
                    )


def _entry(item: Any) -> LayerEntry:
    if not isinstance(item, dict) or not isinstance(item.get("class_name"), str):
        raise InvalidSpec("Every layer in a model config needs a `class_name`.")
    class_name = item["class_name"]
    cfg = item.get("config")
    if cfg is None:
        cfg = {}
    if class_name == "Sequential" and isinstance(cfg, list):
        cfg = {"name": item.get("name", "sequential"), "layers": cfg}
    if not isinstance(cfg, dict):
        raise InvalidSpec(f"The config of a {_quote(class_name)} layer is not an object.")
    name = item.get("name") or cfg.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidSpec(f"A {_quote(class_name)} layer has no name.")
    module = item.get("module")
    container = class_name in CONTAINER_CLASSES
    operation = operation_name(class_name, module, cfg)
    problems: list[Problem] = []
    build_shape = _build_shape(item)
    if not container:
        cfg, problems = checked_config(operation or class_name, name, cfg)
        build_shape = _checked_build_shape(build_shape, name, class_name, problems)
    problems += _names_problems(item, name, class_name)
    return LayerEntry(
        class_name=class_name,
        name=name,
        config=cfg,
        module=_text(module),
        registered_name=_text(item.get("registered_name")),
        operation=operation,
        batch_shape=None if container else _declared_batch_shape(cfg),
        build_input_shape=build_shape,
        inner=_container(class_name, cfg, item) if container else None,
        problems=problems,
    )


def _names_problems(item: JSON, name: str, class_name: str) -> list[Problem]:
    """`module` and `registered_name` beside `class_name`: strings, or absent."""
    _, problems = checked_config(
        class_name, name, {key: item[key] for key in ("module", "registered_name") if key in item}
    )
    return problems


def _checked_build_shape(
    shape: list[Any] | None, name: str, class_name: str, problems: list[Problem]
) -> list[Any] | None:
    """`build_config`'s input shape: a shape, or a list of them (several inputs)."""
    if shape is None:
        return None
    try:
        return SHAPE_TREE.read(shape)
    except WrongValue:
        problems.append(
            Problem(
                name, class_name, "build_config.input_shape", str(shape)[:40], SHAPE_TREE.expected
            )
        )
        return None


def _check_unique(names: list[str], model: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidSpec(f"Model {model!r} has two layers named {name!r}.")
        seen.add(name)


def _class_of(item: Any) -> str | None:
    """An entry's `class_name` when it is one (a string), else None."""
    return _text(item.get("class_name")) if isinstance(item, dict) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _quote(value: Any) -> str:
    text = str(value)
    return f"`{text[:60]}`"
