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
- `batch_input_shape` on a layer other than InputLayer: Keras 3's legacy reader hands it on
  as `input_shape`, batch axis included; it becomes the `input_shape` it means;
- node indices of a nested model's calls: Keras 2 counted the node a nested model makes for
  itself (its first call is node 1) where the reader found so (`ModelConfig.counted_from_one`);
  Keras 3 rebuilds the model without one.
- a NumPy scalar setting written as a `__numpy__` object (tf.keras 2.12): its number;
- BatchNormalization's one-element `axis` list in an entry with `module` (tf.keras 2.13+
  `to_json()`), which Keras 3 then reads as its own: the int it means;
- a layer or model name with `/` (tf.keras ports: `layer1/conv/bn`), which Keras 3 refuses:
  written with `_`, and Keras' outputs are read back under the file's names
  (app.check.keras3_names).

The check runs on a copy of the file whose config is rewritten so, and the report says so.

The copy is written by our own code: the `model_config` attribute of a legacy HDF5 file, or
`config.json` of a `.keras` archive; weights and everything else are copied as they are.
"""

from __future__ import annotations

import copy
import io
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py

from app.analysis.batchnorm import BN_CLASSES
from app.check.keras3_names import rename_refused
from app.errors import InvalidSpec, MalformedModel
from app.formats.config import parse_model
from app.formats.keras1 import is_keras1, keras2_class, keras2_config
from app.formats.v3_layout import (
    LAYERS,
    TF_KERAS_LAYERS,
    Placement,
    keras3_reads,
    misplaced_for_keras3,
    place_layers,
)
from app.graph import ModelGraph
from app.layers.fields import numpy_scalar
from app.layers.registry import REGISTRY, STRUCTURE, UNUSED_BY_KERAS2
from app.safety.allowlist import KERAS2_CONTAINER_MODULES
from app.safety.hdf5_attrs import text_attr
from app.safety.model_config import ModelConfig, check_model_config
from app.safety.safe_json import load_json

REFUSED_DEFAULTS: dict[str, dict[str, Any]] = {  # the registry's trait `keras2_defaults`
    name: dict(entry.traits.keras2_defaults)
    for name, entry in REGISTRY.items()
    if entry.traits.keras2_defaults
}
INITIAL_STATES = frozenset(name for name, entry in REGISTRY.items() if entry.traits.initial_states)
MODULES = {
    **{name: entry.modules[0] for name, entry in REGISTRY.items()},
    **{name: modules[0] for name, modules in STRUCTURE.items()},
    "Model": "keras",
}
CONTAINERS = frozenset({"Sequential", "Functional", "Model"})
CONFIG_MEMBER = "config.json"
WEIGHTS_MEMBER = "model.weights.h5"
COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class Removal:
    layer: str
    class_name: str
    key: str
    value: Any

    def sentence(self) -> str:
        return f"{self.layer} ({self.class_name}): {self.key}={json.dumps(self.value)}"


@dataclass(frozen=True)
class Rewrite(Removal):
    """A Keras 2 spelling written the way Keras 3 reads it; `value` says how, in words."""

    def sentence(self) -> str:
        return f"{self.layer} ({self.class_name}): {self.key} {self.value}"


@dataclass(frozen=True)
class Renamed(Removal):
    """A layer or model name Keras 3 refuses; `value` is the name the copy gives it."""

    def sentence(self) -> str:
        return (
            f'{self.layer} ({self.class_name}): named {self.value} (Keras 3 refuses "/" in a name)'
        )


@dataclass(frozen=True)
class Blocker(Removal):
    """A refused key that does not hold its default: the model means something Keras 3
    cannot express."""


def sanitize(model_config: Any) -> tuple[Any, list[Removal], list[Blocker]]:
    """A copy of `model_config` without refused keys at their default, what was removed, and
    the refused keys that hold other values."""
    config = copy.deepcopy(model_config)
    removed: list[Removal] = []
    blockers: list[Blocker] = []
    _wrap_bare_sequentials(config, removed)
    _nested_model_calls(config, removed)
    root_is_entry = isinstance(config, dict) and config.get("class_name") in CONTAINERS
    for entry, depth in _layer_entries(config, -1 if root_is_entry else 0):
        _keras1_keys(entry, removed)
        _container_module(entry, removed)
        _numpy_scalars(entry, removed)
        _strip(entry, removed, blockers)
        _strip_initializer_dtypes(entry, removed)
        if depth > 0:
            _name_module(entry, removed)
        _batchnorm_axis(entry, removed)
        _initial_states_by_keyword(entry, removed)
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


def _keras1_keys(entry: dict, changes: list[Removal]) -> None:
    """A Keras 1 layer config (`output_dim`, `nb_filter`, `border_mode`, `Convolution2D`) in
    Keras 2's keys and class names (app.formats.keras1), which Keras 3's legacy reader takes."""
    config = entry["config"]
    if not is_keras1(config):
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
    if module not in KERAS2_CONTAINER_MODULES or entry["class_name"] not in CONTAINERS:
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


def _name_module(entry: dict, changes: list[Removal]) -> None:
    """A layer nested in a wrapper or a model, written without `module` (Keras 2.2-2.3)."""
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


def _batch_input_shape(entry: dict, changes: list[Removal]) -> None:
    """`batch_input_shape` on a layer: its shape after the batch axis is its `input_shape`."""
    config = entry["config"]
    shape = config.get("batch_input_shape")
    if entry["class_name"] == "InputLayer" or not isinstance(shape, list) or not shape:
        return
    config["input_shape"] = config.pop("batch_input_shape")[1:]
    name = str(config.get("name", "?"))
    changes.append(Rewrite(name, entry["class_name"], "batch_input_shape", "given as input_shape"))


def _nested_model_calls(config: Any, changes: list[Removal]) -> None:
    """A Keras 2 model's references to its nested models' calls, as Keras 3 reads them.

    Which nested models the file counts from 1 (their own node counted) is the reader's
    decision, taken on this very config (`ModelConfig.counted_from_one`,
    app.safety.model_config). Keras 3 rebuilds a nested model without a node of its own: a
    layer's inbound reference names its call from 0, while a model endpoint naming a
    Functional counts from 1 (`get_tensor` in `functional_from_config` takes one off) and
    one naming a Sequential from 0."""
    model = _checked(config)
    if model is not None:
        for functional in _keras2_functionals(model):
            _renumber_nested_calls(functional, changes)


def _checked(config: Any) -> ModelConfig | None:
    """The checked model of a file's config, or of a graph's (the model's own `config`)."""
    if isinstance(config, dict) and config.get("class_name") not in CONTAINERS:
        own = "Functional" if "output_layers" in config else "Sequential"
        config = {"class_name": own, "config": config}
    try:
        return check_model_config(config)
    except InvalidSpec:
        return None


def _keras2_functionals(model: ModelConfig):
    if model.keras2_nodes:
        yield model
    for entry in model.layers:
        if entry.inner is not None:
            yield from _keras2_functionals(entry.inner)


def _renumber_nested_calls(model: ModelConfig, changes: list[Removal]) -> None:
    nested = {entry.name: entry.class_name for entry in model.layers if entry.inner is not None}
    renumbered: set[str] = set()
    for item in model.config["layers"]:
        for node in item.get("inbound_nodes") or [] if isinstance(item, dict) else []:
            for ref in node if isinstance(node, list) else []:
                if _plain_or_keyword_ref(ref) and ref[0] in model.counted_from_one:
                    ref[1] -= 1
                    renumbered.add(ref[0])
    for ref in _endpoint_refs(model.config.get("output_layers")):
        if ref[0] in nested:
            shift = int(nested[ref[0]] != "Sequential") - int(ref[0] in model.counted_from_one)
            if shift:
                ref[1] += shift
                renumbered.add(ref[0])
    for name in sorted(renumbered):
        changes.append(
            Rewrite(
                name,
                nested[name],
                "calls",
                "numbered as Keras 3 reads them (Keras 2 "
                "counted the node a nested model makes for itself)",
            )
        )


def _endpoint_refs(endpoints: Any) -> list[list]:
    if _plain_or_keyword_ref(endpoints):
        return [endpoints]
    return [ref for ref in endpoints or [] if _plain_or_keyword_ref(ref)]


def _plain_or_keyword_ref(ref: Any) -> bool:
    return (
        isinstance(ref, list)
        and len(ref) in (3, 4)
        and isinstance(ref[0], str)
        and isinstance(ref[1], int)
    )


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


def model_module(graph: ModelGraph) -> list[Removal]:
    """The rewrite of the module a read file names for its model's own class, which a
    graph's config (the model's `config`) does not hold: `_container_module`'s rule."""
    entry = {"class_name": graph.class_name, "module": graph.module, "config": {"name": graph.name}}
    changes: list[Removal] = []
    _container_module(entry, changes)
    return changes


def misplaced_weights(graph: ModelGraph) -> list[Rewrite]:
    """The layers of a read `.keras` graph whose weights tf.keras 2.12-2.13 kept where Keras 3
    does not look (app.formats.v3_layout): the copy moves them (`_keras3_weights`), even when
    its config needs no change."""
    return [
        Rewrite(
            node.name,
            node.class_name,
            "weights",
            "moved to where Keras 3 looks for them (tf.keras 2.12-2.13 numbered its layers' "
            "weight groups otherwise)",
        )
        for node in misplaced_for_keras3(graph)
    ]


def rewrite_legacy_h5(source: Path, target: Path, model_config: Any) -> None:
    """A copy of the HDF5 file with `model_config` replaced."""
    shutil.copyfile(source, target)
    with h5py.File(target, "r+") as h5:
        h5.attrs["model_config"] = json.dumps(model_config)


def rewrite_keras_v3(source: Path, target: Path, model_config: Any) -> None:
    """A copy of the .keras archive with `config.json` replaced and the weights file's layer
    groups where Keras 3 looks for them; other members as they are."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename == CONFIG_MEMBER:
                new.writestr(info, json.dumps(model_config))
                continue
            if info.filename == WEIGHTS_MEMBER:
                new.writestr(info, _keras3_weights(old.read(info), model_config))
                continue
            with old.open(info) as src, new.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, COPY_CHUNK)


def _keras3_weights(data: bytes, model_config: Any) -> bytes:
    """tf.keras 2.12-2.13 numbered same-class layers with gaps (`dense`, `dense_2`; on
    Windows in backslash-joined group names), where Keras 3 looks for `dense_1`
    (app.formats.v3_layout): the same groups at Keras 3's paths. A weights file Keras 3 reads
    as written (and a subclassed model's, whose top group Keras 3 names) is kept as it is."""
    with h5py.File(io.BytesIO(data), "r") as old:
        if not any(name == TF_KERAS_LAYERS or "\\" in name for name in old):
            return data  # Keras 3 and tf.keras >= 2.14 number as Keras 3 reads
        graph = parse_model(model_config)
        placed = [p for p in place_layers(graph, old) if p.group is not None]
        if graph.subclass is not None or all(_where_keras3_looks(p) for p in placed):
            return data
        buffer = io.BytesIO()
        with h5py.File(buffer, "w") as new:
            for name in old:
                if name not in (LAYERS, TF_KERAS_LAYERS) and "\\" not in name:
                    old.copy(old[name], new, name=name)
            for p in placed:
                parent, _, name = p.keras3_path.rpartition("/")
                old.copy(p.group, new.require_group(parent), name=name)
        return buffer.getvalue()


def _where_keras3_looks(placed: Placement) -> bool:
    return keras3_reads(placed.group.name.strip("/"), placed.keras3_path)


def read_model_config(path: Path, fmt: str) -> Any:
    """The model config a file holds (the file already passed the safety scan)."""
    if fmt == "keras_v3":
        with zipfile.ZipFile(path) as archive:
            text = archive.read(CONFIG_MEMBER)
    elif fmt == "spec_json":
        text = path.read_bytes()
    else:
        with h5py.File(path, "r") as h5:
            text = text_attr(h5, "model_config") or "null"
    return load_json(text, what="The model config", syntax_error=MalformedModel)


def write_keras3_copy(path: Path, fmt: str, target: Path) -> None:
    """Write to `target` the file with the refused keys at their default taken out. What
    to take out, and whether anything blocks it, the check's plan already says (`sanitize`
    on the same config, in the process that read the file first)."""
    config, _, _ = sanitize(read_model_config(path, fmt))
    if fmt == "spec_json":
        target.write_text(json.dumps(config))
        return
    rewrite = rewrite_keras_v3 if fmt == "keras_v3" else rewrite_legacy_h5
    rewrite(path, target, config)
