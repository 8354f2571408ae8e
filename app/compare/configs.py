"""Each config key that differs between two layers, old → new, writers' spellings aside.

Two writers spell the same layer differently: Keras 3 writes a dtype as a serialized
`DTypePolicy`, Keras 2 as a string; Keras 3 adds `module` and `registered_name` to every
serialized object; tf.keras 2 writes a BatchNormalization's `axis` as `[3]` where Keras 3
writes `-1`; a Keras 2 Sequential's first layer carries `batch_input_shape`. Those are
normalized away before comparing, and numbers are compared as the float32 Keras makes of
them. A key that only one side has (in a nested object too) is a change when both files
come from the same Keras version; from two versions it is how each writes its config (Keras 3
added `lora_rank`, `synchronized`, ...), and is left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.compare.schemas import ConfigChange
from app.graph import LayerNode, dtype_policy
from app.layers.fields import numpy_scalar

LEFT_OUT = frozenset({"name", "batch_input_shape", "build_config", "compile_config"})
# A nested model's own layers are compared one by one, as layers: not as its config.
CONTAINER_KEYS = frozenset({"layers", "input_layers", "output_layers"})
OBJECT_NOISE = frozenset({"module", "registered_name", "shared_object_id", "build_config"})


def config_changes(a: LayerNode, b: LayerNode, same_writer: bool) -> list[ConfigChange]:
    """The keys whose values differ; `class_name` first when the class itself changed."""
    changes = []
    if a.class_name != b.class_name:
        changes.append(ConfigChange(key="class_name", a=a.class_name, b=b.class_name))
    config_a, config_b = normalized(a), normalized(b)
    for key in sorted(set(config_a) | set(config_b)):
        if key not in config_a or key not in config_b:
            if same_writer and a.class_name == b.class_name:
                changes.append(ConfigChange(key=key, a=config_a.get(key), b=config_b.get(key)))
            continue
        if not same_value(config_a[key], config_b[key], lenient=not same_writer):
            changes.append(ConfigChange(key=key, a=config_a[key], b=config_b[key]))
    return changes


def same_value(a: Any, b: Any, lenient: bool) -> bool:
    """Equal as Keras reads them: numbers that are the same float32 (tf.keras wrote
    `0.10000000149011612` for Keras 3's `0.1`); nested objects key by key, where `lenient`
    (two writers) leaves out the keys only one side writes (Keras 3.15 added `input_axes`
    to GlorotUniform's config)."""
    if _number(a) and _number(b):
        return a == b or bool(np.float32(a) == np.float32(b))
    if isinstance(a, dict) and isinstance(b, dict):
        keys = set(a) & set(b) if lenient else set(a) | set(b)
        return all(k in a and k in b and same_value(a[k], b[k], lenient) for k in keys)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(
            same_value(x, y, lenient) for x, y in zip(a, b, strict=True)
        )
    return a == b


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def normalized(node: LayerNode) -> dict[str, Any]:
    """The layer's config as compared: no name, bookkeeping or writer's spelling."""
    out = {}
    for key, value in node.config.items():
        if key in LEFT_OUT or key.startswith("_"):
            continue
        if node.inner is not None and key in CONTAINER_KEYS:
            continue
        if key == "dtype":
            value = dtype_policy(node.config)
        elif key == "axis":
            value = _axes(value, _input_rank(node))
        out[key] = plain(value)
    return out


def plain(value: Any) -> Any:
    """A config value without serialization noise: a serialized object as its class and
    config, a NumPy scalar as its number, tuples as lists."""
    value = numpy_scalar(value)
    if isinstance(value, dict):
        if "class_name" in value and "config" in value:
            inner = value["config"]
            return {
                "class_name": value["class_name"],
                "config": plain(inner) if isinstance(inner, dict) else inner,
            }
        return {k: plain(v) for k, v in value.items() if k not in OBJECT_NOISE}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _input_rank(node: LayerNode) -> int | None:
    """The rank of the layer's first input, batch axis included, once resolved."""
    shapes = node.input_shapes[0] if node.input_shapes else None
    first = shapes[0] if shapes else None
    return len(first) if isinstance(first, tuple) else None


def _axes(value: Any, rank: int | None) -> Any:
    """An axis or list of axes as positive axes (`-1` and `[3]` alike at rank 4)."""
    items = value if isinstance(value, list | tuple) else [value]
    if rank is None or not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        return value
    positive = sorted(v % rank for v in items)
    return positive[0] if len(positive) == 1 else positive
