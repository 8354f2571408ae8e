"""A checked model config (`app.safety.model_config.ModelConfig`) into a `ModelGraph`.

Every reader ends here: `.keras` archives (`config.json`), legacy HDF5 (`model_config`) and
specs (`model.to_json()`) all hold the same kind of object, checked by the scan before it
arrives. What is added to what the file wrote is Keras' own doing: the InputLayer a Sequential
creates when its first layer carries the input shape, operations (`x + 3.0`) named
`ops.<Class>` with their call's arguments, and a layer's build shape where it declares none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.errors import UnmappedKeras1Keys
from app.formats.keras1 import KERAS1_UNREAD, keras2_config, unmapped_keys
from app.graph import LayerNode, ModelGraph, TensorRef
from app.layers.fields import UNIVERSAL, field_of, numpy_scalar
from app.layers.registry import fields_of, lookup
from app.safety.model_config import LayerEntry, ModelConfig, check_model_config


def parse_model(obj: Any) -> ModelGraph:
    """The graph of a `{"class_name": ..., "config": ...}` object that no scan has checked yet
    (tests, benchmarks): checked (`InvalidSpec` when it is not a model), then built."""
    return graph_from_config(check_model_config(obj))


def graph_from_config(model: ModelConfig) -> ModelGraph:
    """The graph of a checked Sequential or Functional model config (for a subclassed model,
    of the one model its config holds, marked with the subclass). Keras 1 keys that have no
    Keras 2 counterpart are refused, all of them at once (`UnmappedKeras1Keys`)."""
    graph = _graph(model)
    refuse_unmapped_keras1(graph)
    return graph


def _graph(model: ModelConfig) -> ModelGraph:
    graph = _sequential(model) if model.class_name == "Sequential" else _functional(model)
    graph.subclass = model.subclass
    graph.module = model.module
    return graph


def refuse_unmapped_keras1(graph: ModelGraph) -> None:
    """One 422 naming every layer's Keras 1 keys without a Keras 2 counterpart."""
    found = [
        ("/".join((*parents, node.name)), node.class_name, key)
        for parents, node in graph.walk()
        for key in unmapped_keys(node.class_name, node.config)
    ]
    if not found:
        return
    listed = "; ".join(f"{layer} ({class_name}): {key}" for layer, class_name, key in found)
    raise UnmappedKeras1Keys(
        f"This Keras 1 model uses keys that Keras 2 and 3 have no counterpart for, so it "
        f"cannot be read as they would: {listed}.",
        details={
            "keys": [
                {"layer": layer, "class_name": class_name, "key": key.split("=", 1)[0]}
                for layer, class_name, key in found
            ]
        },
    )


def _sequential(model: ModelConfig) -> ModelGraph:
    if model.input_layer is not None:
        first = _node(model.input_layer)
    else:
        first = _implicit_input(model)
    first.implicit = True
    nodes = [first]
    previous = first.name
    for entry in model.layers:
        node = _node(entry)
        node.calls, node.call_kwargs, node.call_extras = [[TensorRef(previous)]], [{}], [[]]
        nodes.append(node)
        previous = node.name
    return ModelGraph(
        name=model.name,
        class_name="Sequential",
        layers=nodes,
        inputs=[TensorRef(first.name)],
        outputs=[TensorRef(previous)],
        config=model.config,
    )


def _implicit_input(model: ModelConfig) -> LayerNode:
    """The InputLayer Keras creates for a Sequential whose first layer carries the shape."""
    name = f"{model.name}_input"
    config = {"name": name, "batch_shape": model.implicit_shape}
    return LayerNode(name=name, class_name="InputLayer", config=config)


def _functional(model: ModelConfig) -> ModelGraph:
    nodes = []
    for entry in model.layers:
        node = _node(entry)
        for call in entry.calls:
            node.calls.append(list(call.inputs))
            node.call_kwargs.append(dict(call.kwargs))
            node.call_extras.append(list(call.extras))
        if entry.operation_call is not None:
            node.config = {
                **node.config,
                "call_args": entry.operation_call.args,
                "call_kwargs": entry.operation_call.kwargs,
            }
        nodes.append(node)
    return ModelGraph(
        name=model.name,
        class_name="Functional",
        layers=nodes,
        inputs=list(model.inputs),
        outputs=list(model.outputs),
        config=model.config,
    )


def _node(entry: LayerEntry) -> LayerNode:
    node = LayerNode(
        name=entry.name,
        class_name=entry.operation or entry.class_name,
        config=_numpy_scalars(_keras2_config(entry.class_name, entry.config)),
        module=entry.module,
        registered_name=entry.registered_name,
    )
    if entry.inner is not None:
        node.inner = _graph(entry.inner)
    elif entry.class_name == "InputLayer":
        node.config = {**entry.config, "batch_shape": entry.batch_shape}
    elif entry.batch_shape is None and entry.build_input_shape is not None:
        node.config = {**entry.config, "_build_input_shape": entry.build_input_shape}
    return node


def _keras2_config(class_name: str, config: dict[str, Any]) -> dict[str, Any]:
    """`config` in Keras 2's keys (app.formats.keras1). A Keras 1 config's keys that no list
    of ours maps and that its class does not read either (`field_of`) are kept aside under
    `_keras1_unread`, for `refuse_unmapped_keras1` to name: Keras 2 itself refused keys it did
    not know, and Keras 3 would answer in its own words."""
    out = keras2_config(class_name, config)
    if out is config or lookup(class_name) is None:  # not Keras 1, or a class we do not know
        return out
    declared = fields_of(class_name)
    unread = [k for k in out if k in config and not _read_as_written(k, declared)]
    return {**out, KERAS1_UNREAD: unread} if unread else out


def _read_as_written(key: str, declared: Mapping[str, Any]) -> bool:
    """A key a Keras 1 config kept as Keras 2 names it, which its class or every layer reads
    (a renamed key is mapped by definition)."""
    return (
        key in UNIVERSAL
        or field_of(key, declared) is not None
        or key.endswith(("_regularizer", "_constraint"))
    )


def _numpy_scalars(config: dict[str, Any]) -> dict[str, Any]:
    """`config` with each NumPy scalar given as its number (`app.layers.fields.numpy_scalar`:
    the field check reads the fields it knows the same way; this reaches every key)."""
    return {key: numpy_scalar(value) for key, value in config.items()}
