"""Keras 2 files that Keras 3 refuses only for how their config is written.

Each rule below is a Keras 2 → 3 difference of spelling, handled for every class it touches,
that changes nothing the model computes:

- a key Keras 3 refuses, at its default value (the registry's `keras2_defaults`: `groups: 1`
  on the transposed, depthwise and separable convolutions, `time_major: false` on RNNs,
  `causal: false` on Attention). A key with another value is a real difference: the check
  is then `unsupported`;
- a Keras 1 layer config, in Keras 2's keys and class names (app.formats.keras1);
- a Sequential config that is the bare list of its layers (Keras 1, Keras 2.0/2.1);
- a layer inside a wrapper or a nested model written without `module` (Keras 2.2-2.3):
  Keras 3 resolves such nested classes only by module; a model (the file's or a nested one)
  written with the module tf.keras 2.12+ and tf_keras define it in
  (`keras.src.engine.functional`), which Keras 3 cannot import: Keras 3's module;
- an initializer config carrying `dtype` (tf.keras 2.1, tf_keras 2.18): the layer's dtype
  decides;
- initial states passed as extra inbound tensors of an RNN's call (Keras 2.2), which Keras 3
  takes by the `initial_state` keyword;
- tensors passed by keyword in a Keras 2 call (MultiHeadAttention's `value`, an RNN's
  `initial_state`), which Keras 3's legacy reader hands on as the lists the file writes: the
  call written as Keras 3 writes one, its tensors as tensors;
- `batch_input_shape` on a layer other than InputLayer: Keras 3's legacy reader hands it on
  as `input_shape`, batch axis included; it becomes the `input_shape` it means;
- node indices of a nested model's calls: Keras 2 counted the node a nested model makes for
  itself (its first call is node 1) where the reader found so (`ModelConfig.counted_from_one`);
  Keras 3 rebuilds the model without one.
- a NumPy scalar setting written as a `__numpy__` object (tf.keras 2.12): its number;
- BatchNormalization's one-element `axis` list in an entry with `module` (tf.keras 2.13+
  `to_json()`), which Keras 3 then reads as its own: the int it means;
- SyncBatchNormalization (tf.keras 2.x), which Keras 3 has as BatchNormalization with
  `synchronized=True`: the same inference, the same weights;
- ThresholdedReLU (Keras 2, tf.keras), which Keras 3 does not have: ReLU with
  `threshold=theta`, which Keras 3 computes as ThresholdedReLU does for every finite input
  (`_thresholded_relu`);
- a layer config written without `module` whose setting is a string naming a function of
  `keras.layers` (Attention's `score_mode: "dot"`): Keras 3's legacy reader turns such a
  string into that function (`keras.layers.dot`); given its module, Keras 3 reads the
  entry as its own;
- an operation (`keras.ops.abs`: `Absolute`) in a Keras 3 legacy HDF5 file, written without
  the module its `.keras` files name, which Keras 3's legacy reader then looks up among the
  layers (and calls a layer `Add` with the operation's two arguments): given its module;
- MultiHeadAttention's `build_config` as Keras 2 writes it (`input_shape`, the query's
  alone), which Keras 3 would pass as the query's shape, missing the value's: left out,
  Keras 3 builds the layer at its call;
- a layer or model name with `/` (tf.keras ports: `layer1/conv/bn`), which Keras 3 refuses:
  written with `_`, and Keras' outputs are read back under the file's names
  (app.check.keras3_names);
- a layer's mixed-precision policy as tf.keras 2.4+ and tf_keras write it (`{"class_name":
  "Policy", "config": {"name": "mixed_float16"}}`), which Keras 3's legacy reader hands on
  as a plain dict (`'str' object has no attribute 'quantization_mode'`): the policy's name,
  which Keras 3 reads as the same policy;
- compile settings (`compile_config`: optimizer, loss, metrics) where Keras would act on them
  although the worker loads with `compile=False`: on a nested model (Keras' deserializer
  compiles any object that carries them) and on a spec's own model (`model_from_json`
  deserializes the spec as such an object): left out, so Keras never compiles anything. A
  file's own model's settings stay: Keras drops them itself under `compile=False`
  (saving_lib), and a legacy file's `training_config` is read only when compiling. The safety
  scan relies on this rule (app.safety.config_scan) and does not refuse them.

The check runs on a copy of the file whose config is rewritten so (app.check.keras3_files),
and the report says so. The changes and their sentences: app.check.keras3_changes; the
nested models' calls: app.check.keras3_numbering.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from app.analysis.batchnorm import BN_CLASSES
from app.check.keras3_changes import Blocker, Removal, Renamed, Rewrite
from app.check.keras3_names import rename_refused
from app.check.keras3_numbering import CONTAINERS, nested_model_calls
from app.formats.keras1 import is_keras1, keras2_class, keras2_config
from app.graph import ModelGraph
from app.layers.fields import numpy_scalar
from app.layers.operations import operation_name
from app.layers.registry import REGISTRY, STRUCTURE, UNUSED_BY_KERAS2
from app.safety.allowlist import KERAS2_CONTAINER_MODULES, KERAS2_DTYPE_POLICIES

__all__ = ["Blocker", "Removal", "Renamed", "Rewrite", "model_changes", "sanitize"]

REFUSED_DEFAULTS: dict[str, dict[str, Any]] = {  # the registry's trait `keras2_defaults`
    name: dict(entry.traits.keras2_defaults)
    for name, entry in REGISTRY.items()
    if entry.traits.keras2_defaults
}
INITIAL_STATES = frozenset(name for name, entry in REGISTRY.items() if entry.traits.initial_states)
OP_LAYERS = frozenset(name for name, entry in REGISTRY.items() if entry.traits.op_layer)
MODULES = {
    **{name: entry.modules[0] for name, entry in REGISTRY.items()},
    **{name: modules[0] for name, modules in STRUCTURE.items()},
    "Model": "keras",
}


def sanitize(model_config: Any, *, spec: bool = False) -> tuple[Any, list[Removal], list[Blocker]]:
    """A copy of `model_config` without refused keys at their default, what was removed, and
    the refused keys that hold other values. `spec`: the config is a spec's (the model's own
    compile settings are then left out too, `_compile_settings`)."""
    config = copy.deepcopy(model_config)
    removed: list[Removal] = []
    blockers: list[Blocker] = []
    _wrap_bare_sequentials(config, removed)
    nested_model_calls(config, removed)
    root_is_entry = isinstance(config, dict) and config.get("class_name") in CONTAINERS
    for entry, depth in _layer_entries(config, -1 if root_is_entry else 0):
        if depth >= 0 or spec:
            _compile_settings(entry, removed)
        _keras1_keys(entry, removed)
        _container_module(entry, removed)
        _numpy_scalars(entry, removed)
        _strip(entry, removed, blockers)
        _strip_initializer_dtypes(entry, removed)
        _keras2_dtype_policy(entry, removed)
        _sync_batchnorm(entry, removed)
        _thresholded_relu(entry, removed)
        _operation_module(entry, removed)
        if depth > 0 or _misread_by_legacy_reader(entry):
            _name_module(entry, removed)
        _batchnorm_axis(entry, removed)
        _initial_states_by_keyword(entry, removed)
        _keyword_tensors(entry, removed)
        _multi_head_build_config(entry, removed)
        _batch_input_shape(entry, removed)
    _refused_names(config, removed)
    return config, removed, blockers


def _refused_names(config: Any, changes: list[Removal]) -> None:
    """Layer and model names with `/`, which Keras 3 refuses (app.check.keras3_names); last,
    so that every other change is told under the file's names."""
    for old, class_name, new in rename_refused(config):
        changes.append(Renamed(old, class_name, "name", new))


def _layer_entries(node: Any, depth: int):
    """Every `{"class_name", "config"}` object in a config, at any depth, with how many
    layers or models hold it (0: a layer of the model itself)."""
    if isinstance(node, dict):
        is_entry = isinstance(node.get("class_name"), str) and isinstance(node.get("config"), dict)
        if is_entry:
            yield node, depth
        for value in node.values():
            yield from _layer_entries(value, depth + 1 if is_entry else depth)
    elif isinstance(node, list):
        for value in node:
            yield from _layer_entries(value, depth)


def _wrap_bare_sequentials(node: Any, changes: list[Removal]) -> None:
    """Keras 2.0/2.1 wrote a Sequential's config as the list of its layers; Keras 3 reads
    `{"name", "layers"}`. A graph's config (`ModelGraph.config`) arrives wrapped already,
    without a name: that is how the reader marks it."""
    if isinstance(node, dict):
        if node.get("class_name") == "Sequential" and isinstance(node.get("config"), list):
            node["config"] = {"name": node.get("name", "sequential"), "layers": node["config"]}
            changes.append(_bare_list(node["config"]["name"]))
        elif (
            isinstance(node.get("layers"), list) and "name" not in node and "class_name" not in node
        ):
            node["name"] = "sequential"
            changes.append(_bare_list("sequential"))
        for value in node.values():
            _wrap_bare_sequentials(value, changes)
    elif isinstance(node, list):
        for value in node:
            _wrap_bare_sequentials(value, changes)


def _bare_list(name: str) -> Rewrite:
    return Rewrite(
        name, "Sequential", "config", "written as an object (Keras 2.0/2.1 wrote a list)"
    )


COMPILE_SETTINGS_LEFT_OUT = (
    "left out (Keras would compile the model from it even with compile=False; the check "
    "never compiles)"
)


def _compile_settings(entry: dict, changes: list[Removal]) -> None:
    """A nested model's, or a spec's own model's, `compile_config`: Keras' deserializer
    compiles any object whose entry carries one (a truthy one: `if compile_config:`)."""
    if not entry.get("compile_config"):
        return
    del entry["compile_config"]
    name = str(entry.get("name") or entry["config"].get("name", "?"))
    changes.append(Rewrite(name, entry["class_name"], "compile_config", COMPILE_SETTINGS_LEFT_OUT))


def _keras1_keys(entry: dict, changes: list[Removal]) -> None:
    """A Keras 1 layer config (`output_dim`, `nb_filter`, `border_mode`, `Convolution2D`) in
    Keras 2's keys and class names (app.formats.keras1), which Keras 3's legacy reader takes."""
    config = entry["config"]
    if not is_keras1(entry["class_name"], config):
        return
    entry["config"] = keras2_config(entry["class_name"], config)
    name = str(config.get("name", "?"))
    changes.append(Rewrite(name, entry["class_name"], "config", "in Keras 2's keys (Keras 1)"))
    entry["class_name"] = keras2_class(entry["class_name"])


def _container_module(entry: dict, changes: list[Removal]) -> None:
    """A model (the file's own or a nested one) written with the module tf.keras 2.12+ or
    tf_keras defines its class in (`keras.src.engine.functional`), which Keras 3 cannot
    import: the module Keras 3 writes for the same class."""
    module = entry.get("module")
    if not isinstance(module, str) or module not in KERAS2_CONTAINER_MODULES:
        return
    if entry["class_name"] not in CONTAINERS:
        return
    entry["module"] = MODULES[entry["class_name"]]
    name = str(entry["config"].get("name", "?"))
    changes.append(
        Rewrite(name, entry["class_name"], "module", f"{module} given as {entry['module']}")
    )


def _numpy_scalars(entry: dict, changes: list[Removal]) -> None:
    """A NumPy scalar setting written as a `__numpy__` object (tf.keras 2.12:
    `ReLU(max_value=np.float32(2))`), which Keras 3's `.keras` reader hands on as a dict:
    the number it holds (app.layers.fields.numpy_scalar, as our reader takes it)."""
    config = entry["config"]
    for key, value in config.items():
        number = numpy_scalar(value)
        if number is not value:
            config[key] = number
            name = str(config.get("name", "?"))
            changes.append(Rewrite(name, entry["class_name"], key, f"given as the number {number}"))


def _strip_initializer_dtypes(entry: dict, changes: list[Removal]) -> None:
    """An initializer's `dtype` (tf.keras 2.1, tf_keras 2.18): the layer passes its own."""
    config = entry["config"]
    for key, value in config.items():
        if not (key.endswith("_initializer") and isinstance(value, dict)):
            continue
        inner = value.get("config")
        if isinstance(inner, dict) and "dtype" in inner:
            dtype = inner.pop("dtype")
            name = str(config.get("name", "?"))
            changes.append(Removal(name, entry["class_name"], f"{key}.dtype", dtype))


def _keras2_dtype_policy(entry: dict, changes: list[Removal]) -> None:
    """tf.keras' `Policy` object for a layer's dtype: its name (`mixed_float16`)."""
    config = entry["config"]
    policy = config.get("dtype")
    if not (isinstance(policy, dict) and policy.get("class_name") in KERAS2_DTYPE_POLICIES):
        return
    name = (policy.get("config") or {}).get("name")
    if isinstance(name, str):
        config["dtype"] = name
        layer = str(config.get("name", "?"))
        changes.append(Rewrite(layer, entry["class_name"], "dtype", f"given as {json.dumps(name)}"))


def _name_module(entry: dict, changes: list[Removal]) -> None:
    """A layer nested in a wrapper or a model, written without `module` (Keras 2.2-2.3), or
    one the legacy reader would misread (`_misread_by_legacy_reader`)."""
    module = MODULES.get(entry["class_name"])
    if "module" in entry or module is None:
        return
    entry["module"] = module
    name = str(entry["config"].get("name", "?"))
    changes.append(Rewrite(name, entry["class_name"], "module", f"given as {module}"))
    # With a module, Keras 3 reads the entry as its own: the legacy reader's translation of
    # a one-element `axis` list is then ours to make.
    axis = entry["config"].get("axis")
    if isinstance(axis, list) and len(axis) == 1:
        entry["config"]["axis"] = axis[0]


def _sync_batchnorm(entry: dict, changes: list[Removal]) -> None:
    """tf.keras' SyncBatchNormalization (`keras.layers.experimental` in 2.14+): Keras 3's
    BatchNormalization with `synchronized=True`, which differs only in training across
    devices; its weights are BatchNormalization's, in the same order."""
    if entry["class_name"] != "SyncBatchNormalization":
        return
    entry["class_name"] = "BatchNormalization"
    entry["config"]["synchronized"] = True
    if "module" in entry:
        entry["module"] = MODULES["BatchNormalization"]
    name = str(entry["config"].get("name", "?"))
    changes.append(
        Rewrite(
            name,
            "SyncBatchNormalization",
            "class",
            "given as BatchNormalization(synchronized=True), its Keras 3 name",
        )
    )


def _thresholded_relu(entry: dict, changes: list[Removal]) -> None:
    """Keras 2's ThresholdedReLU computes `x · cast(x > theta)`, theta in the input's float
    type (tf_keras' `thresholded_relu.py`). Keras 3.15's ReLU with `threshold=theta`, no
    negative slope and no max value computes `where(x > theta, x, 0)` (theta cast to the
    input's type; `max(x, 0)` when theta is 0: `keras.src.activations.ReLU.static_call`):
    the same number for every finite input, an input of exactly theta included (0). They
    part only at ±inf below theta and at NaN (ThresholdedReLU gives NaN, ReLU 0), where the
    check then fails, as it should: our reference computes ThresholdedReLU's own formula.
    No weights, so nothing moves in the file."""
    if entry["class_name"] != "ThresholdedReLU":
        return
    config = entry["config"]
    theta = config.pop("theta", 1.0)  # the class's default
    config.update(threshold=theta, negative_slope=0.0, max_value=None)
    entry["class_name"] = "ReLU"
    if "module" in entry:
        entry["module"] = MODULES["ReLU"]
    if entry.get("registered_name") == "ThresholdedReLU":
        entry["registered_name"] = "ReLU"
    name = str(config.get("name", "?"))
    changes.append(
        Rewrite(
            name,
            "ThresholdedReLU",
            "class",
            f"given as ReLU(threshold={theta}), which Keras 3 computes as ThresholdedReLU "
            f"does: x if x > {theta} else 0 (Keras 3 has no ThresholdedReLU)",
        )
    )


def _operation_module(entry: dict, changes: list[Removal]) -> None:
    """An operation Keras 3 wrote to a legacy HDF5 file without its module (`Absolute`,
    `NotEqual`, `Add`; app.layers.operations tells it from a layer by its config): the module
    and registered name its `.keras` files give it, so that Keras 3 reads it as an operation
    instead of looking for a layer of that name."""
    class_name, inbound = entry["class_name"], entry.get("inbound_nodes")
    keras3_calls = isinstance(inbound, list) and any(isinstance(node, dict) for node in inbound)
    if "module" in entry or not keras3_calls:  # operations are Keras 3's, its calls dicts
        return
    operation = operation_name(class_name, None, entry["config"])
    if operation is None:
        return
    entry["module"] = MODULES[operation]
    entry["registered_name"] = class_name
    name = str(entry.get("name") or entry["config"].get("name", "?"))
    changes.append(Rewrite(name, class_name, "module", f"given as {entry['module']}"))


# The functions of `keras.layers` (Keras 3's legacy reader looks a string setting up there).
LAYERS_FUNCTIONS = frozenset(
    ("add", "average", "concatenate", "dot", "maximum", "minimum", "multiply", "subtract")
)


def _misread_by_legacy_reader(entry: dict) -> bool:
    """A setting Keras 3's legacy reader (an entry without `module`) would misread: a string
    naming a function of `keras.layers` becomes that function (Attention's `score_mode:
    "dot"`, `keras.layers.dot`), and an `axis` list of several axes is dropped
    (LayerNormalization over `[1, 2]` would normalize over the last axis alone)."""
    config = entry["config"]
    axis = config.get("axis")
    return (isinstance(axis, list) and len(axis) > 1) or any(
        isinstance(value, str) and value in LAYERS_FUNCTIONS
        for key, value in config.items()
        if key != "name"
    )


def _batchnorm_axis(entry: dict, changes: list[Removal]) -> None:
    """Keras 2 saved BatchNormalization's `axis` as a list (`[2]`), which Keras 3's legacy
    reader turns into the int it takes, except for an entry with `module` (tf.keras 2.13+
    `to_json()`): Keras 3 then reads it as its own, and refuses the list."""
    axis = entry["config"].get("axis")
    one_axis = isinstance(axis, list) and len(axis) == 1 and isinstance(axis[0], int)
    if entry["class_name"] not in BN_CLASSES or "module" not in entry or not one_axis:
        return
    entry["config"]["axis"] = axis[0]
    name = str(entry["config"].get("name", "?"))
    changes.append(Rewrite(name, entry["class_name"], "axis", f"{axis} given as {axis[0]}"))


def _initial_states_by_keyword(entry: dict, changes: list[Removal]) -> None:
    """Keras 2.2 recorded `rnn(x, initial_state=[h, c])` as one call on `[x, h, c]`; Keras 3
    calls an RNN on one tensor and takes the states by keyword."""
    if entry["class_name"] not in INITIAL_STATES or not isinstance(
        entry.get("inbound_nodes"), list
    ):
        return
    for i, node in enumerate(entry["inbound_nodes"]):
        if not (isinstance(node, list) and len(node) > 1 and all(_plain_ref(r) for r in node)):
            continue
        first, *states = node
        entry["inbound_nodes"][i] = {
            "args": [_keras_tensor(first)],
            "kwargs": {"initial_state": [_keras_tensor(ref) for ref in states]},
        }
        name = str(entry["config"].get("name", "?"))
        changes.append(Rewrite(name, entry["class_name"], "initial states", "passed by keyword"))


def _keyword_tensors(entry: dict, changes: list[Removal]) -> None:
    """A Keras 2 call whose keywords hold tensors (`[["x", 0, 0, {"value": ["x", 0, 0]}]]`):
    Keras 3 reads a list node's keywords as they are, so the layer would get lists where it
    takes tensors. Written as Keras 3 writes a call; a tf.keras op layer's calls are left as
    they are (Keras 3 cannot load op layers: the check says so)."""
    inbound = entry.get("inbound_nodes")
    if entry["class_name"] in OP_LAYERS or not isinstance(inbound, list):
        return
    for i, node in enumerate(inbound):
        if not _keras2_node_with_keyword_tensors(node):
            continue
        tensors = [_keras_tensor(ref) for ref in node]
        inbound[i] = {
            "args": [tensors[0] if len(tensors) == 1 else tensors],
            "kwargs": _keyword_values(node[-1][3]),
        }
        name = str(entry["config"].get("name", "?"))
        changes.append(
            Rewrite(name, entry["class_name"], "call", "written as Keras 3 writes a call")
        )


def _keras2_node_with_keyword_tensors(node: Any) -> bool:
    if not (isinstance(node, list) and node and all(_keras2_ref(ref) for ref in node)):
        return False
    last = node[-1]
    return len(last) == 4 and isinstance(last[3], dict) and _holds_ref(last[3])


def _keras2_ref(value: Any) -> bool:
    """`[layer, node, tensor]` or `[layer, node, tensor, kwargs]`, as Keras 2 writes one."""
    return (
        isinstance(value, list)
        and len(value) in (3, 4)
        and isinstance(value[0], str)
        and all(isinstance(i, int) and not isinstance(i, bool) for i in value[1:3])
        and (len(value) == 3 or isinstance(value[3], dict))
    )


def _holds_ref(value: Any) -> bool:
    if _keras2_ref(value):
        return True
    if isinstance(value, dict):
        return any(_holds_ref(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_ref(item) for item in value)
    return False


def _keyword_values(value: Any) -> Any:
    """A call's keywords with every tensor reference as Keras 3 writes a tensor."""
    if _keras2_ref(value):
        return _keras_tensor(value)
    if isinstance(value, dict):
        return {key: _keyword_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_keyword_values(item) for item in value]
    return value


def _multi_head_build_config(entry: dict, changes: list[Removal]) -> None:
    """Keras 2 records MultiHeadAttention's build as `{"input_shape": query_shape}`; Keras 3
    builds it from `shapes_dict` (query and value) and would call `build(query_shape)`."""
    build = entry.get("build_config")
    if entry["class_name"] != "MultiHeadAttention" or not isinstance(build, dict):
        return
    if "input_shape" not in build:
        return
    del entry["build_config"]
    name = str(entry["config"].get("name", "?"))
    changes.append(Removal(name, entry["class_name"], "build_config", build))


def _batch_input_shape(entry: dict, changes: list[Removal]) -> None:
    """`batch_input_shape` on a layer: its shape after the batch axis is its `input_shape`."""
    config = entry["config"]
    shape = config.get("batch_input_shape")
    if entry["class_name"] == "InputLayer" or not isinstance(shape, list) or not shape:
        return
    config["input_shape"] = config.pop("batch_input_shape")[1:]
    name = str(config.get("name", "?"))
    changes.append(Rewrite(name, entry["class_name"], "batch_input_shape", "given as input_shape"))


def _plain_ref(ref: Any) -> bool:
    """A Keras 2 inbound tensor `[layer, node, tensor, {}]` with no keyword arguments."""
    return (
        isinstance(ref, list)
        and len(ref) in (3, 4)
        and isinstance(ref[0], str)
        and (len(ref) == 3 or ref[3] == {})
    )


def _keras_tensor(ref: list) -> dict:
    """A Keras 3 config's reference to a tensor (its shape is not read when rebuilding)."""
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": [], "dtype": "float32", "keras_history": list(ref[:3])},
    }


def _strip(entry: dict, removed: list[Removal], blockers: list[Blocker]) -> None:
    class_name, config = entry["class_name"], entry["config"]
    for key, default in REFUSED_DEFAULTS.get(class_name, {}).items():
        if key not in config:
            continue
        name = str(config.get("name", "?"))
        if default == UNUSED_BY_KERAS2 or config[key] == default:
            removed.append(Removal(name, class_name, key, config.pop(key)))
        else:
            blockers.append(Blocker(name, class_name, key, config[key]))


def model_changes(graph: ModelGraph) -> list[Removal]:
    """The changes to the model's own entry, which a graph's config (the model's `config`)
    does not hold: a spec's own `compile_config` (`_compile_settings`' rule) and the module a
    read file names for the model's class (`_container_module`'s rule)."""
    entry = {"class_name": graph.class_name, "module": graph.module, "config": {"name": graph.name}}
    changes: list[Removal] = []
    if graph.compile_settings:
        changes.append(
            Rewrite(graph.name, graph.class_name, "compile_config", COMPILE_SETTINGS_LEFT_OUT)
        )
    _container_module(entry, changes)
    return changes
