"""A layer's calls as its config's `inbound_nodes` write them, and a Functional's inputs and
outputs: Keras 2 lists (`[["dense_1", 0, 0, {...}]]`) or Keras 3 `{"args", "kwargs"}` trees of
`__keras_tensor__` objects, read into `Call`s of `TensorRef`s; anything else raises
`InvalidSpec` saying what is malformed."""

from __future__ import annotations

from typing import Any

from app.errors import InvalidSpec
from app.graph import TensorRef
from app.safety.config_entries import JSON, Call, OperationCall

# Call keywords that carry data inputs (MultiHeadAttention and Attention take `value`, `key`
# by keyword); every other tensor keyword (masks, initial states) is an extra parent only.
DATA_KWARGS = ("query", "value", "key")


def keras3_written(items: list[Any]) -> bool:
    """Keras 3 writes inbound nodes as `{"args", "kwargs"}` trees; Keras 1/2 as lists."""
    return any(
        isinstance(node, dict)
        for item in items
        if isinstance(item, dict) and isinstance(item.get("inbound_nodes"), list)
        for node in item["inbound_nodes"]
    )


def are_keras2_nodes(inbound: Any) -> bool:
    """Every node written as a Keras 1/2 list (a tf.keras op layer's flat form among them)."""
    return isinstance(inbound, list) and all(isinstance(node, list) for node in inbound)


def layer_calls(layer: str, inbound: Any) -> list[Call]:
    """A layer's calls, from its config's `inbound_nodes`."""
    if not isinstance(inbound, list):
        raise InvalidSpec(f"Layer {layer!r} has malformed `inbound_nodes`.")
    calls = []
    for item in inbound:
        if isinstance(item, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
            args = keras3_refs(item.get("args", []))
            tensor_kwargs = _tensor_kwargs(item.get("kwargs", {}), keras3_refs)
            kwargs = plain_kwargs(item.get("kwargs", {}))
        elif isinstance(item, list):  # Keras 2: [["dense_1", 0, 0, {...}], ...]
            args = [keras2_ref(t, layer) for t in item]
            raw_kwargs = _keras2_kwargs(item)
            tensor_kwargs = _tensor_kwargs(raw_kwargs, _keras2_refs)
            kwargs = {k: v for k, v in raw_kwargs.items() if k not in tensor_kwargs}
        else:
            raise InvalidSpec(f"Layer {layer!r} has a malformed inbound node.")
        data = [ref for key in DATA_KWARGS for ref in tensor_kwargs.get(key, [])]
        extras = [r for key, refs in tensor_kwargs.items() if key not in DATA_KWARGS for r in refs]
        calls.append(Call(args + data, extras, kwargs))
    return calls


def operation_call_of(inbound: list[Any]) -> OperationCall:
    """A Keras 3 operation's one call: its tensors as `{"tensor": i}`, in order."""
    call = inbound[0] if inbound and isinstance(inbound[0], dict) else {}
    counter = iter(range(1 << 20))
    template = [
        {"tensor": next(counter)} if keras3_refs(arg) else arg for arg in call.get("args", [])
    ]
    return OperationCall(template, plain_kwargs(call.get("kwargs")))


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


def keras3_refs(tree: Any) -> list[TensorRef]:
    if isinstance(tree, dict):
        if tree.get("class_name") == "__keras_tensor__":
            config = tree.get("config")
            history = config.get("keras_history") if isinstance(config, dict) else None
            if not isinstance(history, list) or len(history) != 3:
                raise InvalidSpec("A tensor in an inbound node has no valid `keras_history`.")
            return [_ref(history, "A tensor's `keras_history`")]
        return [ref for value in tree.values() for ref in keras3_refs(value)]
    if isinstance(tree, list):
        return [ref for value in tree for ref in keras3_refs(value)]
    return []


def plain_kwargs(kwargs: Any) -> JSON:
    if not isinstance(kwargs, dict):
        return {}
    return {k: v for k, v in kwargs.items() if not keras3_refs(v)}


def keras2_ref(item: Any, layer: str) -> TensorRef:
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


def endpoints_of(value: Any, key: str) -> list[TensorRef]:
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
