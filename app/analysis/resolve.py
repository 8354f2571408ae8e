"""Fill a parsed `ModelGraph` in: output shapes, weights with roles, trainability, indices.

Shapes flow call by call from the inputs; at a layer's first call the registry says which
weights it creates. Weights found in a file are matched to those by key, never by position
alone: a `.keras` file's `<owner>/vars/<i>`, else the variable name the writer recorded
(`gamma:0`), and position only among the weights of one layer that share that name.
"""

from __future__ import annotations

from typing import Any

from app.errors import InvalidSpec, UnknownLayers, WeightMismatch
from app.formats.keras1 import KERAS1_WEIGHT_ROLES
from app.graph import (
    LayerNode,
    ModelGraph,
    ShapeTree,
    StoredWeight,
    WeightRef,
    topological_calls,
    variable_dtype,
)
from app.layers.recurrent import RNN_CELLS
from app.layers.registry import NON_TRAINABLE_ROLES, WeightSpec, lookup, traits_of

GENERIC_ROLE = "weight"
WRAPPED_KEYS = ("layer", "backward_layer", "cell", "cells")  # where configs nest other layers
KNOWN_ROLE_NAMES = frozenset(
    {
        "kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance", "embeddings",
        "recurrent_kernel", "depthwise_kernel", "pointwise_kernel", "alpha", "mean", "variance",
    }
)  # fmt: skip


UNSAVED_NOTE = (
    "The file lists this layer but stores none of its {count} weight arrays (its weights "
    "section is incomplete): they are counted from its config, without values."
)


def unsaved_layers(graph: ModelGraph) -> list[str]:
    """The layers (by path) whose weights the file did not save (a resolved graph's)."""
    return [
        "/".join((*parents, node.name))
        for parents, node in graph.walk()
        if node.unsaved and node.weights and not node.stored
    ]


def resolve(graph: ModelGraph, *, weights_in_file: bool) -> None:
    """Resolve shapes and weights in place; a spec with unknown classes is refused at once."""
    unknown = sorted(unknown_classes(graph))
    if unknown and not weights_in_file:
        raise UnknownLayers(
            f"This spec uses layer classes the explainer does not know: {', '.join(unknown)}. "
            "Without a weights file their parameters cannot be inferred.",
            details={"classes": unknown},
        )
    _resolve_graph(graph, None, parents_trainable=True)
    assign_indices(graph)


def unknown_classes(graph: ModelGraph) -> set[str]:
    """Every class in the graph the registry does not know, wrapped layers and cells included."""
    found: set[str] = set()
    for node in graph.layers:
        if node.inner is not None:
            found |= unknown_classes(node.inner)
        elif node.class_name != "InputLayer":
            found |= {
                name for name in _classes_in(node.class_name, node.config) if not lookup(name)
            }
    return found


def _classes_in(class_name: str, config: dict[str, Any]) -> list[str]:
    """A layer's class and those of the layers it wraps (`layer`, `cell`, ...); an RNN's
    cells are the RNN's business (its registry entry gives their weights)."""
    names = [] if class_name in RNN_CELLS else [class_name]
    for key in WRAPPED_KEYS:
        for item in _as_list(config.get(key)):
            if isinstance(item, dict) and isinstance(item.get("class_name"), str):
                names += _classes_in(item["class_name"], item.get("config") or {})
    return names


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def assign_indices(graph: ModelGraph) -> None:
    """Number every weight by its position in Keras 3's `model.get_weights()`."""
    index = 0
    for _, node in graph.walk():
        for weight in node.weights:
            weight.index = index
            index += 1


def _resolve_graph(
    graph: ModelGraph, input_shapes: list[ShapeTree] | None, parents_trainable: bool
) -> list[ShapeTree]:
    produced: dict[tuple[str, int], ShapeTree | None] = {}
    fed = dict(zip([ref.layer for ref in graph.inputs], input_shapes or [], strict=False))
    trainable = parents_trainable and bool(graph.config.get("trainable", True))
    for node, call in topological_calls(graph):
        shapes = [_tensor_shape(produced, ref) for ref in _call_inputs(node, call)]
        produced[(node.name, call)] = _resolve_call(node, call, shapes, fed, trainable)
    return [_tensor_shape(produced, ref) for ref in graph.outputs]


def _call_inputs(node: LayerNode, call: int) -> list[Any]:
    return node.calls[call] if call < len(node.calls) else []


def _tensor_shape(produced: dict, ref: Any) -> ShapeTree | None:
    shape = produced.get((ref.layer, ref.node_index))
    if isinstance(shape, list) and shape and not _is_shape(shape):
        return shape[ref.tensor_index] if ref.tensor_index < len(shape) else None
    return shape


def _is_shape(value: Any) -> bool:
    return isinstance(value, tuple)


def _resolve_call(
    node: LayerNode,
    call: int,
    shapes: list[ShapeTree | None],
    fed: dict[str, ShapeTree],
    trainable: bool,
) -> ShapeTree | None:
    first = call == 0
    if first:
        node.input_shapes, node.output_shapes, node.weights = [], [], []
    node.input_shapes.append(shapes)  # type: ignore[arg-type]
    layer_trainable = trainable and node.trainable_flag
    if node.class_name == "InputLayer":
        output = _input_layer_shape(node, fed)
    elif node.inner is not None:
        output = _resolve_container(node, shapes, layer_trainable)
    else:
        output = _resolve_layer(node, shapes, layer_trainable, first)
    node.output_shapes.append(output)  # type: ignore[arg-type]
    return output


def _input_layer_shape(node: LayerNode, fed: dict[str, ShapeTree]) -> ShapeTree | None:
    declared = node.config.get("batch_shape")
    if declared is not None:
        return tuple(declared)
    return fed.get(node.name)


def _resolve_container(node: LayerNode, shapes: list, trainable: bool) -> ShapeTree | None:
    assert node.inner is not None
    outputs = _resolve_graph(node.inner, shapes, trainable)
    if node.stored is not None:
        bind_by_position(node)
    return outputs[0] if len(outputs) == 1 else outputs


def bind_by_position(model: LayerNode) -> None:
    """Give a nested model's weights the arrays it stores by position (a Keras 3.0-3.2 `.h5`,
    app.formats.legacy_h5): its `trainable_weights` then `non_trainable_weights`, the order in
    which Keras saved them and loads them back. Each array's name must be its weight's."""
    assert model.inner is not None and model.stored is not None
    weights = list(model.inner.all_weights())
    ordered = [w for w in weights if w.trainable] + [w for w in weights if not w.trainable]
    if len(ordered) != len(model.stored):
        raise WeightMismatch(
            f"Nested model {model.name!r} stores {len(model.stored)} weight arrays where its "
            f"config creates {len(ordered)}.",
            details={"layer": model.name, "stored": len(model.stored), "expected": len(ordered)},
        )
    for weight, stored in zip(ordered, model.stored, strict=True):
        if _variable_name(stored.name) != _variable_name(weight.name) or tuple(
            stored.shape
        ) != tuple(weight.shape):
            raise WeightMismatch(
                f"Nested model {model.name!r} stores {stored.name!r} with shape "
                f"{tuple(stored.shape)} where its config makes {weight.name} with shape "
                f"{tuple(weight.shape)}.",
                details={"layer": model.name, "weight": weight.name},
            )
        weight.values, weight.dtype = stored.values, stored.dtype
        weight.stored_name = stored.path or stored.name


def _resolve_layer(
    node: LayerNode, shapes: list[ShapeTree | None], trainable: bool, first: bool
) -> ShapeTree | None:
    entry = lookup(node.class_name)
    node.known = entry is not None
    known_shapes = shapes and all(s is not None for s in shapes)
    if not known_shapes:
        shapes = _declared_input_shapes(node) or shapes
        known_shapes = shapes and all(s is not None for s in shapes)
    specs: list[WeightSpec] | None = None
    output: ShapeTree | None = None
    if entry is not None and known_shapes:
        try:
            output = entry.output_shape(node.config, shapes)  # type: ignore[arg-type]
            if first:
                specs = entry.weights(node.config, shapes)  # type: ignore[arg-type]
        except (KeyError, ValueError, TypeError, IndexError, ZeroDivisionError) as exc:
            _shape_failure(node, exc)
        specs = _defined(node, specs, shapes)
    if first:
        node.weights = _weights_for(node, specs, trainable)
    return output


def _declared_input_shapes(node: LayerNode) -> list[ShapeTree] | None:
    shape = node.config.get("_build_input_shape")
    if isinstance(shape, list) and shape and isinstance(shape[0], list):
        return [tuple(s) for s in shape]
    return [tuple(shape)] if isinstance(shape, list) else None


def _defined(
    node: LayerNode, specs: list[WeightSpec] | None, shapes: list
) -> list[WeightSpec] | None:
    """`specs`, when every dimension of every weight is known. Keras refuses to create a
    variable of unknown size (Dense on an input whose last axis is None), so a spec asking for
    one is refused; a file's stored weights are read as they are, with a note."""
    undefined = next((spec for spec in specs or () if None in spec.shape), None)
    if undefined is None:
        return specs
    if node.stored is None:
        raise InvalidSpec(
            f"Layer {node.name!r} ({node.class_name}) would create its {undefined.name} with "
            f"shape {_shape_text(undefined.shape)}, which has a dimension of unknown size: it "
            f"comes from the layer's input shape {_shape_text(shapes[0])}. Give the model's "
            "Input a size on that axis.",
            details={"layer": node.name, "weight": undefined.name},
        )
    node.notes.append("Its weights' shapes could not be worked out from its config.")
    return None


def _shape_text(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _shape_failure(node: LayerNode, exc: Exception) -> None:
    if node.stored is None:
        raise InvalidSpec(
            f"Layer {node.name!r} ({node.class_name}) has a config whose shapes cannot be "
            "worked out from its inputs.",
            details={"layer": node.name, "class_name": node.class_name},
        ) from exc
    node.notes.append("Its output shape could not be worked out from its config.")


def _weights_for(
    node: LayerNode, specs: list[WeightSpec] | None, trainable: bool
) -> list[WeightRef]:
    dtype = variable_dtype(node.config)
    if node.stored is None:
        if specs is None:
            raise InvalidSpec(
                f"The input shape of layer {node.name!r} is unknown, so its weights cannot be "
                "inferred. Give the model an Input with a shape.",
                details={"layer": node.name},
            )
        return [_from_spec(spec, dtype, trainable) for spec in specs]
    if specs is None:
        return [_generic(stored, trainable, node) for stored in node.stored]
    if node.unsaved and not node.stored and specs:
        node.notes.append(UNSAVED_NOTE.format(count=len(specs)))
        return [_from_spec(spec, dtype, trainable) for spec in specs]
    return bind(node, specs, trainable)


def _from_spec(spec: WeightSpec, dtype: str, trainable: bool) -> WeightRef:
    return WeightRef(
        name=spec.name,
        role=spec.role,
        shape=tuple(spec.shape),
        dtype=dtype,
        trainable=spec.trainable and trainable,
    )


def _generic(stored: StoredWeight, trainable: bool, node: LayerNode) -> WeightRef:
    """A stored weight whose layer's specs are unknown (an unknown class, or an input shape
    that cannot be worked out, as below a Lambda). Its role comes from its name, Keras 1's
    included (`bn0_running_mean:0`); for a known class, trainable follows the role, as the
    registry's specs would give it (moving statistics never train)."""
    last = _variable_name(stored.name)
    role = _role_name(last, node.name)
    if role not in KNOWN_ROLE_NAMES:
        role = GENERIC_ROLE
    return WeightRef(
        name=role if role != GENERIC_ROLE else last,
        role=role,
        shape=tuple(stored.shape),
        dtype=stored.dtype,
        trainable=trainable and not (node.known and role in NON_TRAINABLE_ROLES),
        values=stored.values,
        stored_name=stored.path or stored.name,
    )


def bind(node: LayerNode, specs: list[WeightSpec], trainable: bool) -> list[WeightRef]:
    """Match a layer's stored weights to the registry's specs, by key then by name."""
    copies = traits_of(node.class_name).stored_twice
    stored = [s for s in node.stored or [] if s.name not in copies]
    if len(stored) != len(specs):
        raise WeightMismatch(
            f"Layer {node.name!r} ({node.class_name}) stores {len(stored)} weight arrays where "
            f"its config creates {len(specs)}.",
            details={"layer": node.name, "stored": len(stored), "expected": len(specs)},
        )
    remaining = list(stored)
    bound = []
    for spec, key in zip(specs, _v3_keys(specs, copies), strict=True):
        match = _pick(spec, key, remaining)
        remaining.remove(match)
        if tuple(match.shape) != tuple(spec.shape):
            raise WeightMismatch(
                f"Layer {node.name!r} ({node.class_name}) stores its {spec.name} with shape "
                f"{tuple(match.shape)}, but its config makes it {tuple(spec.shape)}.",
                details={
                    "layer": node.name,
                    "weight": spec.name,
                    "stored_shape": list(match.shape),
                    "expected_shape": list(spec.shape),
                },
            )
        bound.append(
            WeightRef(
                name=spec.name,
                role=spec.role,
                shape=tuple(spec.shape),
                dtype=match.dtype,
                trainable=spec.trainable and trainable,
                values=match.values,
                stored_name=match.path or match.name,
            )
        )
    return bound


def _v3_keys(specs: list[WeightSpec], copies: tuple[str, ...] = ()) -> list[str]:
    """Each spec's `.keras` key, `<owner>/vars/<i>`, passing over the keys of `copies`."""
    counts: dict[str, int] = {}
    keys = []
    for spec in specs:
        key = ""
        while not key or key in copies:
            i = counts.get(spec.owner, 0)
            counts[spec.owner] = i + 1
            key = f"{spec.owner}/vars/{i}" if spec.owner else f"vars/{i}"
        keys.append(key)
    return keys


def _pick(spec: WeightSpec, key: str, remaining: list[StoredWeight]) -> StoredWeight:
    for stored in remaining:
        if stored.name == key:
            return stored
    for stored in remaining:  # tf.keras: `_query_dense/vars/0`
        if _public(stored.name) == _public(key):
            return stored
    for wanted in (_variable_name(spec.name), spec.role):  # Keras 2: `depthwise_kernel:0`
        for stored in remaining:
            if _variable_name(stored.name) == wanted:
                return stored
    return remaining[0]


def _role_name(name: str, layer: str) -> str:
    """`gamma`; Keras 1's `<layer>_gamma`, `<layer>_W`, `<layer>_running_std` in Keras 2's
    words (Keras 2's own conversion of Keras 1 weights: W → kernel, running_std →
    moving_variance, which Keras 1.2 stored under that name)."""
    if name in KNOWN_ROLE_NAMES:
        return name
    short = name[len(layer) + 1 :] if name.startswith(f"{layer}_") else name
    return KERAS1_WEIGHT_ROLES.get(short, short)


def _public(key: str) -> str:
    """A `.keras` key with its attribute names public: tf.keras saved some sublayers at
    private attributes (MultiHeadAttention's `_query_dense`, `_output_dense`) that Keras 3
    made public (`query_dense`), while it keeps others private (`_gate_dense`)."""
    return "/".join(part.removeprefix("_") for part in key.split("/"))


def _variable_name(name: str) -> str:
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]
