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
from app.formats.keras1 import KERAS1_UNREAD, is_keras1, keras2_class, keras2_config, unmapped_keys
from app.graph import LayerNode, ModelGraph, TensorRef
from app.layers.fields import UNIVERSAL, field_of, numpy_scalar
from app.layers.registry import fields_of, lookup
from app.safety.model_config import LayerEntry, ModelConfig, check_model_config

WRAPPED = ("layer", "backward_layer")  # the config keys a wrapper holds its layers under


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


def _graph(model: ModelConfig, keras1: bool | None = None) -> ModelGraph:
    """`keras1`: whether any layer of the file's model, at any depth, is written in Keras 1's
    keys (found once, for the outermost model)."""
    keras1 = written_by_keras1(model) if keras1 is None else keras1
    if model.class_name == "Sequential":
        graph = _sequential(model, keras1)
    else:
        graph = _functional(model, keras1)
    graph.subclass = model.subclass
    graph.module = model.module
    return graph


def refuse_unmapped_keras1(graph: ModelGraph) -> None:
    """One 422 naming every layer's Keras 1 keys without a Keras 2 counterpart."""
    found = [
        ("/".join(path), class_name, key)
        for parents, node in graph.walk()
        for path, class_name, config in _node_and_wrapped((*parents, node.name), node)
        for key in unmapped_keys(class_name, config)
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


def _node_and_wrapped(path: tuple[str, ...], node: LayerNode):
    """(path, class name, config) of a layer and of the layers its config wraps."""
    yield path, node.class_name, node.config
    for key in WRAPPED:
        layer = node.config.get(key)
        if _is_entry(layer):
            name = layer["config"].get("name") or key
            yield (*path, str(name)), layer["class_name"], layer["config"]


def written_by_keras1(model: ModelConfig) -> bool:
    """Whether a layer of `model`, a wrapped one or one of a nested model, has a key only
    Keras 1 wrote: the model is then Keras 1's, and each of its layers' keys is read or
    refused (`_keep_unread`), not only those of the layers that show it."""
    entries = [*model.layers, *([model.input_layer] if model.input_layer else [])]
    for entry in entries:
        if _known_keras1(entry.class_name, entry.config):
            return True
        if entry.inner is not None and written_by_keras1(entry.inner):
            return True
        if "layer" in entry.config and any(  # a wrapper's
            _is_entry(w) and _known_keras1(w["class_name"], w["config"])
            for w in map(entry.config.get, WRAPPED)
        ):
            return True
    return False


def _known_keras1(class_name: str, config: dict[str, Any]) -> bool:
    """A Keras 1 config of a class we know: a custom class's own `init` or `output_dim` says
    nothing of who wrote the model."""
    return is_keras1(class_name, config) and lookup(keras2_class(class_name)) is not None


def _sequential(model: ModelConfig, keras1: bool) -> ModelGraph:
    if model.input_layer is not None:
        first = _node(model.input_layer, keras1)
    else:
        first = _implicit_input(model)
    first.implicit = True
    nodes = [first]
    previous = first.name
    for entry in model.layers:
        node = _node(entry, keras1)
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


def _functional(model: ModelConfig, keras1: bool) -> ModelGraph:
    nodes = []
    for entry in model.layers:
        node = _node(entry, keras1)
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


def _node(entry: LayerEntry, keras1: bool) -> LayerNode:
    class_name, config = _keras2_layer(entry.class_name, entry.config, keras1)
    node = LayerNode(
        name=entry.name,
        class_name=entry.operation or class_name,
        config=_numpy_scalars(_wrapped_in_keras2(config, keras1)),
        module=entry.module,
        registered_name=entry.registered_name,
    )
    if entry.inner is not None:
        node.inner = _graph(entry.inner, keras1)
    elif entry.class_name == "InputLayer":
        node.config = {**entry.config, "batch_shape": entry.batch_shape}
    elif entry.batch_shape is None and entry.build_input_shape is not None:
        node.config = {**entry.config, "_build_input_shape": entry.build_input_shape}
    return node


def _keras2_layer(
    class_name: str, config: dict[str, Any], keras1: bool
) -> tuple[str, dict[str, Any]]:
    """A layer's class name and config in Keras 2's words (app.formats.keras1): a Keras 1
    config's class by the name Keras 2 gave it (`Deconvolution2D` is `Conv2DTranspose`), as
    the check's Keras 3 copy names it."""
    out = keras2_config(class_name, config)
    if out is not config:
        class_name = keras2_class(class_name)
    if out is config and not keras1:
        return class_name, out
    return class_name, _keep_unread(class_name, config, out)


def _wrapped_in_keras2(config: dict[str, Any], keras1: bool) -> dict[str, Any]:
    """A wrapper's config (Bidirectional, TimeDistributed) whose wrapped layers are read in
    Keras 2's words as every other layer is: Keras 1 wrote them in its own keys."""
    if not keras1 or not any(_is_entry(config.get(key)) for key in WRAPPED):
        return config
    out = dict(config)
    for key in WRAPPED:
        if _is_entry(layer := config.get(key)):
            inner_class, inner = _keras2_layer(layer["class_name"], layer["config"], keras1)
            out[key] = {**layer, "class_name": inner_class, "config": inner}
    return out


def _is_entry(layer: Any) -> bool:
    return (
        isinstance(layer, dict)
        and isinstance(layer.get("class_name"), str)
        and isinstance(layer.get("config"), dict)
    )


def _keep_unread(class_name: str, config: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    """`out` (`config` in Keras 2's keys), with the keys of a Keras 1 model's layer that no
    list of ours maps and that its class does not read either (`field_of`) kept aside under
    `_keras1_unread`, for `refuse_unmapped_keras1` to name: Keras 2 itself refused keys it did
    not know, and Keras 3 would answer in its own words. Every layer of a Keras 1 model is
    read so, not only those with a Keras 1 key: UpSampling1D's `length`, unmapped, would
    otherwise have left the layer at its default `size` and the count silently wrong."""
    if lookup(class_name) is None:  # a class we do not know: refused by its name
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
