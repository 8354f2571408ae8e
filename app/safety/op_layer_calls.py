"""The calls of a tf.keras op layer (`TFOpLambda`, `SlicingOpLambda`, ...) as tf_keras writes
them: one flat reference with its other arguments as keywords, where tensors and constants
may sit at any depth (`[["layer_normalization_27", 0, 0, {"y": ["input_15", 0, 0]}]]`)."""

from __future__ import annotations

from typing import Any

from app.errors import InvalidSpec
from app.graph import TensorRef
from app.safety.config_entries import JSON, Call, OperationCall
from app.safety.inbound_nodes import keras2_ref

# tf.keras writes a constant passed where its op layers take a tensor as this reference.
CONSTANT_VALUE = "_CONSTANT_VALUE"


def op_layer_calls(layer: str, inbound: list[Any]) -> tuple[list[Call], OperationCall]:
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
            refs.append(keras2_ref(value, layer))
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
        refs.append(keras2_ref(value, layer))
        return {"tensor": len(refs) - 1}
    if isinstance(value, list):
        return [_keyword(item, refs, layer) for item in value]
    if isinstance(value, dict):
        return {key: _keyword(item, refs, layer) for key, item in value.items()}
    return value


def _is_node_data(value: Any) -> bool:
    """tf_keras' test for a serialized tensor reference (tf_utils.convert_inner_node_data)."""
    return isinstance(value, list) and len(value) in (3, 4) and isinstance(value[0], str)
