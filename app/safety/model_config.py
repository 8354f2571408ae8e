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
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from app.errors import InvalidSpec
from app.graph import CONTAINER_CLASSES, TensorRef
from app.layers.fields import SHAPE_TREE, WrongValue
from app.layers.operations import operation_name
from app.layers.registry import traits_of
from app.safety.layer_fields import Problem, checked_config, raise_problems

JSON = dict[str, Any]
# tf.keras writes a constant passed where its op layers take a tensor as this reference.
CONSTANT_VALUE = "_CONSTANT_VALUE"
# Call keywords that carry data inputs (MultiHeadAttention and Attention take `value`, `key`
# by keyword); every other tensor keyword (masks, initial states) is an extra parent only.
DATA_KWARGS = ("query", "value", "key")


@dataclass(frozen=True)
class Call:
    """One call of a layer (an inbound node): its data inputs (the positional tensors, then
    those of `DATA_KWARGS`), the other tensors it takes by keyword (masks, initial states: parents
    in the graph, not data inputs), and the keywords that are not tensors."""

    inputs: list[TensorRef]
    extras: list[TensorRef]
    kwargs: JSON


@dataclass(frozen=True)
class OperationCall:
    """The one call of an operation (`x + 3.0`): positional arguments in place, a tensor as
    `{"tensor": i}`, and its keywords that are not tensors."""

    args: list[Any]
    kwargs: JSON


@dataclass(frozen=True)
class LayerEntry:
    """One entry of a model's `layers`: a layer, an operation, or a nested model (`inner`)."""

    class_name: str  # as written; `operation` says when it records tensor arithmetic
    name: str
    config: JSON  # {} when the entry has none; a nested Sequential's bare list is wrapped
    module: str | None = None
    registered_name: str | None = None
    operation: str | None = None  # `ops.<Class>` for an operation
    batch_shape: list[Any] | None = None  # declared on a layer (not on a nested model)
    build_input_shape: list[Any] | None = None  # `build_config`'s, when it records one
    calls: list[Call] = field(default_factory=list)  # Functional members only
    operation_call: OperationCall | None = None
    inner: ModelConfig | None = None
    problems: list[Problem] = field(default_factory=list)  # its fields' (app.safety.layer_fields)


@dataclass(frozen=True)
class ModelConfig:
    """A Sequential or Functional model (`Model` is read as Functional).

    A Sequential's `layers` are the entries after its first when that is an InputLayer
    (`input_layer`), else all of them, with the shape Keras gives the InputLayer it adds in
    `implicit_shape`; `inputs` and `outputs` are a Functional's.
    """

    class_name: str
    name: str
    config: JSON  # as written (a Keras 2.0 Sequential's list wrapped as `{"name", "layers"}`)
    layers: list[LayerEntry]
    input_layer: LayerEntry | None = None
    implicit_shape: list[Any] | None = None
    inputs: list[TensorRef] = field(default_factory=list)
    outputs: list[TensorRef] = field(default_factory=list)
    subclass: str | None = None  # the subclassed keras.Model whose config holds this model
    module: str | None = None  # the module the file names for the model's class, if any
    # Keras 1/2 configs (inbound nodes as lists): the nested models whose calls the file's
    # references count from 1 (`_nested_calls_from_zero`). The reader numbers every call from
    # 0; the Keras 3 copy (app/check/keras3_copy.py) writes them as Keras 3 reads them.
    keras2_nodes: bool = False
    counted_from_one: frozenset[str] = frozenset()
    problems: list[Problem] = field(default_factory=list)  # of `implicit_shape`

    def all_problems(self) -> list[Problem]:
        """The field problems of every layer, nested models' included, in config order."""
        found, stack = [], [self]
        while stack:  # iterative: nesting depth is the JSON's, not the interpreter's
            model = stack.pop()
            found.extend(model.problems)
            for entry in (*([model.input_layer] if model.input_layer else []), *model.layers):
                found.extend(entry.problems)
            stack.extend(e.inner for e in reversed(model.layers) if e.inner is not None)
        return found


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
    inputs = _endpoints(config.get("input_layers"), "input_layers")
    outputs = _endpoints(config.get("output_layers"), "output_layers")
    keras2_nodes = not _keras3_written(config["layers"])
    shifted: frozenset[str] = frozenset()
    if keras2_nodes:
        shifted = counted_from_one(layers, outputs)
        layers, outputs = _nested_calls_from_zero(layers, outputs, shifted)
    else:
        inputs, outputs = (
            _endpoints_from_zero(layers, inputs),
            _endpoints_from_zero(layers, outputs),
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


def _keras3_written(items: list[Any]) -> bool:
    """Keras 3 writes inbound nodes as `{"args", "kwargs"}` trees; Keras 1/2 as lists."""
    return any(
        isinstance(node, dict)
        for item in items
        if isinstance(item, dict) and isinstance(item.get("inbound_nodes"), list)
        for node in item["inbound_nodes"]
    )


def _endpoints_from_zero(layers: list[LayerEntry], refs: list[TensorRef]) -> list[TensorRef]:
    """A Keras 3 model's `input_layers` / `output_layers`, counted from 0 as calls are.

    Keras 3 counts a nested Functional's references between layers from 0 (serialize_node
    skips the node it was built with), but its model endpoints from 1 (get_config's
    `node_reindexing_map` keeps that node): `get_tensor` in `functional_from_config` takes
    one off, and Python's negative index makes 0 its last call. (A wild 3.5 autoencoder's
    output is `["decoder", 1, 0]`: decoder's one call.) A Sequential has no such node."""
    calls = {
        entry.name: len(entry.calls)
        for entry in layers
        if entry.inner is not None and entry.inner.class_name == "Functional"
    }
    renumbered = []
    for ref in refs:
        if ref.layer in calls:
            index = ref.node_index - 1
            ref = TensorRef(
                ref.layer,
                index if index >= 0 else index + max(calls[ref.layer], 1),
                ref.tensor_index,
            )
        renumbered.append(ref)
    return renumbered


def counted_from_one(layers: list[LayerEntry], outputs: list[TensorRef]) -> frozenset[str]:
    """The nested models whose calls a Keras 1 or 2 (tf.keras, tf_keras) model's references
    count from 1.

    A nested Functional model has a node of its own, made when it was built (its inputs to its
    outputs), which Keras (2 and 3) never saves: the references to its saved calls count
    from 1 (`["model_6", 1, 0]` is its first saved call; tf_keras' `_should_skip_first_node`,
    Keras 3's `node_reindexing_map`). Which count a file uses shows in the references: one
    to call n of a model with n saved calls counts from 1, one to call 0 counts from 0;
    else a Functional counts from 1 and a Sequential from 0."""
    return frozenset(
        entry.name
        for entry in layers
        if entry.inner is not None and _counts_from_one(entry, layers, outputs)
    )


def _nested_calls_from_zero(
    layers: list[LayerEntry], outputs: list[TensorRef], shifted: frozenset[str]
) -> tuple[list[LayerEntry], list[TensorRef]]:
    """References to the nested models of `shifted` counted from 0, as `inbound_nodes` are."""
    if not shifted:
        return layers, outputs

    def renumbered(ref: TensorRef) -> TensorRef:
        if ref.layer not in shifted:
            return ref
        return TensorRef(ref.layer, ref.node_index - 1, ref.tensor_index)

    def call(c: Call) -> Call:
        return Call([renumbered(r) for r in c.inputs], [renumbered(r) for r in c.extras], c.kwargs)

    layers = [replace(entry, calls=[call(c) for c in entry.calls]) for entry in layers]
    return layers, [renumbered(r) for r in outputs]


def _counts_from_one(model: LayerEntry, layers: list[LayerEntry], outputs: list[TensorRef]) -> bool:
    refs = [*outputs, *(r for e in layers for c in e.calls for r in (*c.inputs, *c.extras))]
    used = {r.node_index for r in refs if r.layer == model.name}
    if len(model.calls) in used:
        return True
    if 0 in used:
        return False
    return model.class_name != "Sequential"


def _functional_member(item: Any) -> LayerEntry:
    entry = _entry(item)
    inbound = item.get("inbound_nodes", []) if isinstance(item, dict) else []
    if traits_of(entry.class_name).op_layer and _keras2_nodes(inbound):
        calls, operation_call = _op_layer_calls(entry.name, inbound)
        return replace(entry, calls=calls, operation_call=operation_call)
    calls = _calls(entry.name, inbound)
    operation_call = None
    if entry.operation is not None:
        operation_call = _operation_call(item.get("inbound_nodes") or [])
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


def _operation_call(inbound: list[Any]) -> OperationCall:
    call = inbound[0] if inbound and isinstance(inbound[0], dict) else {}
    counter = iter(range(1 << 20))
    template = [_in_place(arg, counter) for arg in call.get("args", [])]
    return OperationCall(template, _plain_kwargs(call.get("kwargs")))


def _in_place(tree: Any, counter: Iterator[int]) -> Any:
    """An argument with each tensor, at any depth (`ops.concatenate([a, b])` takes a list),
    as `{"tensor": i}`, counted in the order `_keras3_refs` meets them."""
    if isinstance(tree, dict):
        if tree.get("class_name") == "__keras_tensor__":
            return {"tensor": next(counter)}
        return {key: _in_place(value, counter) for key, value in tree.items()}
    if isinstance(tree, list):
        return [_in_place(value, counter) for value in tree]
    return tree


def _keras2_nodes(inbound: Any) -> bool:
    return isinstance(inbound, list) and all(isinstance(node, list) for node in inbound)


def _op_layer_calls(layer: str, inbound: list[Any]) -> tuple[list[Call], OperationCall]:
    """The calls of a tf.keras op layer (`TFOpLambda`, `SlicingOpLambda`, ...), read as
    tf_keras' Functional reads them (functional.process_node): a node is its first call
    argument as written, any nesting of tensor references `[layer, node, tensor, kwargs]` and
    constants `["_CONSTANT_VALUE", -1, value, kwargs]` (a single reference stays flat:
    op layers keep their argument's structure), and its other arguments are the `kwargs` of
    its references, where tensors may sit at any depth (`{"y": ["input_1", 0, 0]}`). Every
    tensor is a data input, in the order it is met; the arguments are kept with each tensor
    as `{"tensor": i}`. A layer called again takes the same arguments at the same places."""
    calls, templates = [], []
    for node in inbound:
        call, template = _op_layer_call(layer, node)
        calls.append(call)
        templates.append(template)
    if any(template != templates[0] for template in templates[1:]):
        raise InvalidSpec(f"Op layer {layer!r} is called with arguments that differ by call.")
    return calls, templates[0] if templates else OperationCall([], {})


def _op_layer_call(layer: str, node: Any) -> tuple[Call, OperationCall]:
    refs: list[TensorRef] = []
    found: list[JSON] = []

    def argument(value: Any) -> Any:
        if _is_node_data(value):
            if len(value) == 4:
                if not isinstance(value[3], dict):
                    raise InvalidSpec(f"Op layer {layer!r} has malformed call arguments.")
                found.append(value[3])
            if value[0] == CONSTANT_VALUE:
                return value[2]
            refs.append(_keras2_ref(value, layer))
            return {"tensor": len(refs) - 1}
        if isinstance(value, list):
            return [argument(item) for item in value]
        raise InvalidSpec(f"Op layer {layer!r} has a malformed inbound node.")

    first = argument(node)
    keywords = found[-1] if found else {}  # every reference carries the same kwargs
    kwargs = {key: _keyword(value, refs, layer) for key, value in keywords.items()}
    return Call(list(refs), [], {}), OperationCall([first], kwargs)


def _keyword(value: Any, refs: list[TensorRef], layer: str) -> Any:
    """A keyword argument with its tensor references as `{"tensor": i}` (appended to refs)."""
    if _is_node_data(value) and value[0] != CONSTANT_VALUE:
        refs.append(_keras2_ref(value, layer))
        return {"tensor": len(refs) - 1}
    if isinstance(value, list):
        return [_keyword(item, refs, layer) for item in value]
    if isinstance(value, dict):
        return {key: _keyword(item, refs, layer) for key, item in value.items()}
    return value


def _is_node_data(value: Any) -> bool:
    """tf_keras' test for a serialized tensor reference (tf_utils.convert_inner_node_data)."""
    return isinstance(value, list) and len(value) in (3, 4) and isinstance(value[0], str)


def _calls(layer: str, inbound: Any) -> list[Call]:
    """A layer's calls, from its config's `inbound_nodes`."""
    if not isinstance(inbound, list):
        raise InvalidSpec(f"Layer {layer!r} has malformed `inbound_nodes`.")
    calls = []
    for item in inbound:
        if isinstance(item, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
            args = _keras3_refs(item.get("args", []))
            tensor_kwargs = _tensor_kwargs(item.get("kwargs", {}), _keras3_refs)
            kwargs = _plain_kwargs(item.get("kwargs", {}))
        elif isinstance(item, list):  # Keras 2: [["dense_1", 0, 0, {...}], ...]
            args = [_keras2_ref(t, layer) for t in item]
            raw_kwargs = _keras2_kwargs(item)
            tensor_kwargs = _tensor_kwargs(raw_kwargs, _keras2_refs)
            kwargs = {k: v for k, v in raw_kwargs.items() if k not in tensor_kwargs}
        else:
            raise InvalidSpec(f"Layer {layer!r} has a malformed inbound node.")
        data = [ref for key in DATA_KWARGS for ref in tensor_kwargs.get(key, [])]
        extras = [r for key, refs in tensor_kwargs.items() if key not in DATA_KWARGS for r in refs]
        calls.append(Call(args + data, extras, kwargs))
    return calls


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
            config = tree.get("config")
            history = config.get("keras_history") if isinstance(config, dict) else None
            if not isinstance(history, list) or len(history) != 3:
                raise InvalidSpec("A tensor in an inbound node has no valid `keras_history`.")
            return [_ref(history, "A tensor's `keras_history`")]
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
    return _ref(item, f"Layer {layer!r}'s inbound tensor")


def _ref(item: list[Any], what: str) -> TensorRef:
    """`[layer, node_index, tensor_index]`: a layer name and two non-negative integers."""
    layer, node, tensor = item[0], item[1], item[2]
    if not isinstance(layer, str) or not _index(node) or not _index(tensor):
        raise InvalidSpec(
            f"{what} is not [layer name, node index, tensor index]: expected a string and "
            "two non-negative integers."
        )
    return TensorRef(layer, int(node), int(tensor))


def _index(value: Any) -> bool:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _keras2_kwargs(node: list[Any]) -> JSON:
    merged: JSON = {}
    for item in node:
        if isinstance(item, list) and len(item) > 3 and isinstance(item[3], dict):
            merged.update(item[3])
    return merged


def _endpoints(value: Any, key: str) -> list[TensorRef]:
    """A Functional's inputs or outputs in Keras' order: a dict (named outputs) is flattened
    as `keras.tree.flatten` does, by sorted key, which orders `model.outputs` and, through
    them, `model.layers` and `get_weights()`."""
    if isinstance(value, dict):
        value = [value[name] for name in sorted(value, key=str)]
    if not isinstance(value, list) or not value:
        raise InvalidSpec(f"A Functional config needs `{key}`.")
    if isinstance(value[0], str):  # a single [name, node, tensor]
        value = [value]
    refs = []
    for item in value:
        if not isinstance(item, list) or len(item) < 3 or not isinstance(item[0], str):
            raise InvalidSpec(f"`{key}` holds a malformed entry.")
        refs.append(_ref(item, f"An entry of `{key}`"))
    return refs


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
