"""Model configs, as Keras 2 and Keras 3 write them, into a `ModelGraph`.

Every reader ends here: `.keras` archives (`config.json`), legacy HDF5 (`model_config`) and
specs (`model.to_json()`) all hold the same kind of object, `{"class_name", "config"}`.
Variants handled: Sequential configs that are a bare list (Keras 2.0/2.1); `batch_input_shape`
(Keras 2), `batch_shape` (Keras 3), `input_shape`/`input_dim` on the first layer;
inbound nodes as Keras 2 lists (`[["dense_1", 0, 0, {}]]`) or Keras 3 `args`/`kwargs` trees
of `__keras_tensor__` objects; `input_layers` flat or nested, or a dict.
"""

from __future__ import annotations

from typing import Any

from app.errors import InvalidSpec
from app.graph import CONTAINER_CLASSES, LayerNode, ModelGraph, TensorRef
from app.layers.operations import operation_name

JSON = dict[str, Any]
# Call keywords that carry data inputs (MultiHeadAttention and Attention take `value`, `key`
# by keyword); every other tensor keyword (masks, initial states) is an extra parent only.
DATA_KWARGS = ("query", "value", "key")


def parse_model(obj: Any) -> ModelGraph:
    """A `{"class_name": ..., "config": ...}` object of a Sequential or Functional model."""
    if not isinstance(obj, dict) or "class_name" not in obj:
        raise InvalidSpec(
            "The model config has no `class_name`: expected the JSON that model.to_json() writes."
        )
    class_name = obj["class_name"]
    if class_name not in CONTAINER_CLASSES:
        raise InvalidSpec(
            f"The top-level object is a {_quote(class_name)}, not a model: expected a "
            "Sequential or Functional model as model.to_json() writes it."
        )
    return _parse_container(class_name, obj.get("config"), obj)


def _parse_container(class_name: str, config: Any, entry: JSON) -> ModelGraph:
    if class_name == "Sequential":
        return _parse_sequential(config, entry)
    return _parse_functional(config)


def _parse_sequential(config: Any, entry: JSON) -> ModelGraph:
    if isinstance(config, list):  # Keras 2.0 / 2.1 wrote the layer list itself
        config = {"name": "sequential", "layers": config}
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise InvalidSpec("A Sequential config must hold a `layers` list.")
    name = str(config.get("name", "sequential"))
    entries = list(config["layers"])
    nodes: list[LayerNode] = []
    if entries and _class_of(entries[0]) == "InputLayer":
        first = _layer_from_entry(entries.pop(0))
    else:
        first = _implicit_input(name, entries, config, entry)
    first.implicit = True
    nodes.append(first)
    previous = first.name
    for item in entries:
        node = _layer_from_entry(item)
        node.calls, node.call_kwargs, node.call_extras = [[TensorRef(previous)]], [{}], [[]]
        nodes.append(node)
        previous = node.name
    _check_unique(nodes, name)
    return ModelGraph(
        name=name,
        class_name="Sequential",
        layers=nodes,
        inputs=[TensorRef(first.name)],
        outputs=[TensorRef(previous)],
        config=config,
    )


def _implicit_input(name: str, entries: list[Any], config: JSON, entry: JSON) -> LayerNode:
    """The InputLayer Keras creates for a Sequential whose first layer carries the shape."""
    shape = None
    if entries:
        first_cfg = entries[0].get("config", {}) if isinstance(entries[0], dict) else {}
        shape = _declared_batch_shape(first_cfg)
        if shape is None and isinstance(entries[0], dict):
            shape = _build_shape(entries[0])
    if shape is None:
        shape = config.get("build_input_shape") or _build_shape(entry)
    input_config = {"name": f"{name}_input", "batch_shape": list(shape) if shape else None}
    return LayerNode(name=f"{name}_input", class_name="InputLayer", config=input_config)


def _declared_batch_shape(cfg: JSON) -> list[Any] | None:
    if cfg.get("batch_input_shape") is not None:
        return list(cfg["batch_input_shape"])
    if cfg.get("batch_shape") is not None:
        return list(cfg["batch_shape"])
    if cfg.get("input_shape") is not None:
        return [None, *cfg["input_shape"]]
    if cfg.get("input_dim") is not None:  # Keras 1 Dense
        return [None, cfg["input_dim"]]
    return None


def _build_shape(entry: JSON) -> list[Any] | None:
    build = entry.get("build_config") if isinstance(entry, dict) else None
    if isinstance(build, dict) and isinstance(build.get("input_shape"), list):
        return list(build["input_shape"])
    return None


def _parse_functional(config: Any) -> ModelGraph:
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise InvalidSpec("A Functional config must hold a `layers` list.")
    name = str(config.get("name", "functional"))
    nodes = []
    for item in config["layers"]:
        node = _layer_from_entry(item)
        _parse_inbound(node, item.get("inbound_nodes", []) if isinstance(item, dict) else [])
        if node.is_operation:
            node.config = _with_call(node.config, item.get("inbound_nodes") or [])
        nodes.append(node)
    _check_unique(nodes, name)
    graph = ModelGraph(
        name=name,
        class_name="Functional",
        layers=nodes,
        inputs=_parse_endpoints(config.get("input_layers"), "input_layers"),
        outputs=_parse_endpoints(config.get("output_layers"), "output_layers"),
        config=config,
    )
    known = {n.name for n in nodes}
    for ref in [*graph.inputs, *graph.outputs]:
        if ref.layer not in known:
            raise InvalidSpec(f"The model's inputs or outputs name a layer {ref.layer!r} it lacks.")
    for node in nodes:
        for call in [*node.calls, *node.call_extras]:
            for ref in call:
                if ref.layer not in known:
                    raise InvalidSpec(
                        f"Layer {node.name!r} is connected to a layer {ref.layer!r} that the "
                        "config does not define."
                    )
    return graph


def _layer_from_entry(item: Any) -> LayerNode:
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
    node = LayerNode(
        name=name,
        class_name=operation_name(class_name, item.get("module"), cfg) or class_name,
        config=cfg,
        module=item.get("module"),
        registered_name=item.get("registered_name"),
    )
    if class_name in CONTAINER_CLASSES:
        node.inner = _parse_container(class_name, cfg, item)
    elif class_name == "InputLayer":
        shape = _declared_batch_shape(cfg)
        node.config = {**cfg, "batch_shape": shape}
    elif _declared_batch_shape(cfg) is None and _build_shape(item) is not None:
        node.config = {**cfg, "_build_input_shape": _build_shape(item)}
    return node


def _with_call(config: JSON, inbound: list[Any]) -> JSON:
    """An operation's config with its (only) call's arguments: `call_args` keeps positional
    constants in place (`x + 3.0`), a tensor as `{"tensor": i}`; `call_kwargs` the keywords."""
    call = inbound[0] if inbound and isinstance(inbound[0], dict) else {}
    counter = iter(range(1 << 20))
    template = [
        {"tensor": next(counter)} if _keras3_refs(arg) else arg for arg in call.get("args", [])
    ]
    return {**config, "call_args": template, "call_kwargs": _plain_kwargs(call.get("kwargs"))}


def _parse_inbound(node: LayerNode, inbound: Any) -> None:
    """Fill `calls`, `call_kwargs` and `call_extras` from a config's `inbound_nodes`."""
    if not isinstance(inbound, list):
        raise InvalidSpec(f"Layer {node.name!r} has malformed `inbound_nodes`.")
    for item in inbound:
        if isinstance(item, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
            args = _keras3_refs(item.get("args", []))
            tensor_kwargs = _tensor_kwargs(item.get("kwargs", {}), _keras3_refs)
            kwargs = _plain_kwargs(item.get("kwargs", {}))
        elif isinstance(item, list):  # Keras 2: [["dense_1", 0, 0, {...}], ...]
            args = [_keras2_ref(t, node.name) for t in item]
            raw_kwargs = _keras2_kwargs(item)
            tensor_kwargs = _tensor_kwargs(raw_kwargs, _keras2_refs)
            kwargs = {k: v for k, v in raw_kwargs.items() if k not in tensor_kwargs}
        else:
            raise InvalidSpec(f"Layer {node.name!r} has a malformed inbound node.")
        data = [ref for key in DATA_KWARGS for ref in tensor_kwargs.get(key, [])]
        extras = [r for key, refs in tensor_kwargs.items() if key not in DATA_KWARGS for r in refs]
        node.calls.append(args + data)
        node.call_kwargs.append(kwargs)
        node.call_extras.append(extras)


def _tensor_kwargs(kwargs: Any, refs_of: Any) -> dict[str, list[TensorRef]]:
    if not isinstance(kwargs, dict):
        return {}
    found = {key: refs_of(value) for key, value in kwargs.items()}
    return {key: refs for key, refs in found.items() if refs}


def _keras2_refs(value: Any) -> list[TensorRef]:
    """Tensors inside Keras 2 call kwargs: `["x", 0, 0]`, or lists of them."""
    if isinstance(value, list) and len(value) >= 3 and isinstance(value[0], str):
        if isinstance(value[1], int) and isinstance(value[2], int):
            return [TensorRef(value[0], value[1], value[2])]
    if isinstance(value, list):
        return [ref for item in value for ref in _keras2_refs(item)]
    return []


def _keras3_refs(tree: Any) -> list[TensorRef]:
    if isinstance(tree, dict):
        if tree.get("class_name") == "__keras_tensor__":
            history = tree.get("config", {}).get("keras_history")
            if not isinstance(history, list) or len(history) != 3:
                raise InvalidSpec("A tensor in an inbound node has no valid `keras_history`.")
            return [TensorRef(str(history[0]), int(history[1]), int(history[2]))]
        return [ref for value in tree.values() for ref in _keras3_refs(value)]
    if isinstance(tree, list):
        return [ref for value in tree for ref in _keras3_refs(value)]
    return []


def _plain_kwargs(kwargs: Any) -> JSON:
    if not isinstance(kwargs, dict):
        return {}
    return {k: v for k, v in kwargs.items() if not _keras3_refs(v)}


def _keras2_ref(item: Any, layer: str) -> TensorRef:
    if not isinstance(item, list) or len(item) < 3 or not isinstance(item[0], str):
        raise InvalidSpec(f"Layer {layer!r} has a malformed inbound tensor.")
    return TensorRef(item[0], int(item[1]), int(item[2]))


def _keras2_kwargs(node: list[Any]) -> JSON:
    merged: JSON = {}
    for item in node:
        if isinstance(item, list) and len(item) > 3 and isinstance(item[3], dict):
            merged.update(item[3])
    return merged


def _parse_endpoints(value: Any, key: str) -> list[TensorRef]:
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list) or not value:
        raise InvalidSpec(f"A Functional config needs `{key}`.")
    if isinstance(value[0], str):  # a single [name, node, tensor]
        value = [value]
    refs = []
    for item in value:
        if not isinstance(item, list) or len(item) < 3 or not isinstance(item[0], str):
            raise InvalidSpec(f"`{key}` holds a malformed entry.")
        refs.append(TensorRef(item[0], int(item[1]), int(item[2])))
    return refs


def _check_unique(nodes: list[LayerNode], model: str) -> None:
    seen: set[str] = set()
    for node in nodes:
        if node.name in seen:
            raise InvalidSpec(f"Model {model!r} has two layers named {node.name!r}.")
        seen.add(node.name)


def _class_of(item: Any) -> str | None:
    return item.get("class_name") if isinstance(item, dict) else None


def _quote(value: Any) -> str:
    text = str(value)
    return f"`{text[:60]}`"
