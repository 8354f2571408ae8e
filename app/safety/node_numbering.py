"""Which call of a nested model a reference means: Keras 3 counts a nested Functional's
endpoints from 1 and its calls from 0; Keras 1/2 files count some nested models' calls from
1. The reader numbers every call from 0 (app.safety.model_config)."""

from __future__ import annotations

from dataclasses import replace

from app.graph import TensorRef
from app.safety.config_entries import Call, LayerEntry


def endpoints_from_zero(layers: list[LayerEntry], refs: list[TensorRef]) -> list[TensorRef]:
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


def nested_calls_from_zero(
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
