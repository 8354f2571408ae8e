"""Layer names Keras 3 refuses, renamed in the check's Keras 3 copy and named back after.

tf.keras ports name layers with `/` (YAMNet's `layer1/conv/bn`, the model `yamnet/frames`):
Keras 2 took any name, Keras 3 refuses a `/` in the name of any layer or model ("Argument
`name` ... cannot contain character `/`"). A name is not part of what a model computes, so the
copy the check gives Keras 3 (app.check.keras3_copy) writes each such name with `_` for `/`
(`layer1_conv_bn`, with a `_<n>` added when that name is taken), everywhere the config names
it: the layer's own name, and every reference to it (a call's inbound tensors, the model's
`input_layers` and `output_layers`, a Keras 3 tensor's `keras_history`). The weights need no
change: Keras 3 loads a legacy HDF5 file's weights layer by layer in order, a `.keras`
archive's by class-based paths, and a spec's by `get_weights()` index.

The check's plan keeps the copy's names → the file's (`CheckPlan.keras3_names`) and reads
Keras' outputs back under the file's own names (app.check.keras_side), so the layer-by-layer
comparison and the report never show a name the file does not hold.
"""

from __future__ import annotations

from typing import Any

REFUSED = "/"
REFERENCE_KEYS = frozenset({"inbound_nodes", "input_layers", "output_layers", "keras_history"})


def keras3_names(model_config: Any) -> dict[str, str]:
    """Each layer or model name of the config that Keras 3 refuses → the name the copy gives it."""
    taken = set(_names(model_config))
    renamed: dict[str, str] = {}
    for name in sorted(n for n in taken if REFUSED in n):
        base = name.replace(REFUSED, "_")
        candidate, number = base, 0
        while candidate in taken:
            number += 1
            candidate = f"{base}_{number}"
        renamed[name] = candidate
        taken.add(candidate)
    return renamed


def rename_refused(model_config: Any) -> list[tuple[str, str, str]]:
    """Rename in place, in `model_config`, every name Keras 3 refuses; (old name, its class,
    new name) for each layer or model renamed."""
    renamed = keras3_names(model_config)
    if not renamed:
        return []
    done = {  # any object's config may hold a `name` (an initializer's, unchecked: any JSON)
        (entry["config"]["name"], entry["class_name"]): None
        for entry in _entries(model_config)
        if isinstance(entry["config"].get("name"), str) and entry["config"]["name"] in renamed
    }
    _rename(model_config, renamed)
    return [(old, class_name, renamed[old]) for old, class_name in done]


def _entries(node: Any):
    """Every `{"class_name", "config"}` object at any depth."""
    if isinstance(node, dict):
        if isinstance(node.get("class_name"), str) and isinstance(node.get("config"), dict):
            yield node
        for value in node.values():
            yield from _entries(value)
    elif isinstance(node, list):
        for value in node:
            yield from _entries(value)


def _names(model_config: Any):
    """Every `name` of a layer or model: in its config, beside it (Keras 2 lists a functional
    model's layers with their names), and a graph's config unwrapped."""
    for entry in _entries(model_config):
        for holder in (entry, entry["config"]):
            if isinstance(holder.get("name"), str):
                yield holder["name"]
    if isinstance(model_config, dict) and isinstance(model_config.get("name"), str):
        yield model_config["name"]


def _rename(node: Any, renamed: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "name" and isinstance(value, str):
                node[key] = renamed.get(value, value)
            elif key in REFERENCE_KEYS:
                _rename_references(value, renamed)
            else:
                _rename(value, renamed)
    elif isinstance(node, list):
        for value in node:
            _rename(value, renamed)


def _rename_references(node: Any, renamed: dict[str, str]) -> None:
    """`[layer, node, tensor(, kwargs)]` lists at any depth (Keras 2's inbound tensors, also
    inside a call's kwargs), and Keras 3 tensors' `keras_history`, naming a renamed layer."""
    if isinstance(node, list):
        if len(node) >= 3 and isinstance(node[0], str) and isinstance(node[1], int):
            node[0] = renamed.get(node[0], node[0])
        for value in node:
            _rename_references(value, renamed)
    elif isinstance(node, dict):
        for value in node.values():
            _rename_references(value, renamed)
