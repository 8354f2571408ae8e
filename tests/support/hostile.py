"""The hostile corpus, built in the tests. Canary payloads only: the worst any of them would
do, run by Keras, is create an empty file named `canary` in a folder the test watches.

One clean model is saved in each format (`.keras`, legacy `.h5`, spec JSON); a test takes its
config, injects one hostile construct at one place, and reads the result back:

    top      a layer of the top-level Functional model       top_dense
    nested   a layer of a nested Sequential model            inner / inner_dense
    wrapper  the layer TimeDistributed wraps                  td / wrapped_dense
    rnn      the backward LSTM a Bidirectional wraps          bi / backward_lstm
"""

from __future__ import annotations

import copy
import json
import shutil
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py

from app.formats import LoadedModel, read_model, read_spec
from app.safety.limits import DEFAULT_LIMITS, ReadLimits
from tests.support.kerasref import keras
from tests.support.models import layers, randomize_weights

CANARY = "canary"
FORMATS = ("keras_v3", "legacy_h5", "spec_json")
POSITIONS: dict[str, tuple[str, ...]] = {
    "top": ("top_dense",),
    "nested": ("inner", "inner_dense"),
    "wrapper": ("td", "wrapped_dense"),
    "rnn": ("bi", "backward_lstm"),
}


def base_model():
    inner_layers = [keras.Input((4, 3)), layers.Dense(3, name="inner_dense")]
    inner = keras.Sequential(inner_layers, name="inner")
    x = keras.Input((4, 3), name="x")
    y = layers.Dense(3, name="top_dense")(x)
    y = inner(y)
    y = layers.TimeDistributed(layers.Dense(3, name="wrapped_dense"), name="td")(y)
    y = layers.Bidirectional(layers.LSTM(2, name="lstm"), name="bi")(y)
    return randomize_weights(keras.Model(x, y, name="outer"))


def canary_function(folder: Path) -> Callable:
    """A function that, if anything ever called it, would create `folder/canary`.

    The path is a constant of the code object (not a default argument: Keras' own func_load
    cannot rebuild defaults from JSON), so it travels inside the marshalled bytecode."""
    source = f"lambda x: (open({str(folder / CANARY)!r}, 'w').close(), x)[1]"
    return eval(source)  # our own literal, built above


def serialized(obj: Any) -> dict[str, Any]:
    """What Keras itself writes for `obj` (a lambda warns that it is unsafe: it is)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return keras.saving.serialize_keras_object(obj)


@dataclass
class Saved:
    """The base model in every format, and a way to read it back with another config."""

    keras_path: Path
    h5_path: Path
    spec: str

    def config(self, fmt: str) -> dict[str, Any]:
        if fmt == "keras_v3":
            with zipfile.ZipFile(self.keras_path) as archive:
                return json.loads(archive.read("config.json"))
        if fmt == "legacy_h5":
            with h5py.File(self.h5_path, "r") as h5:
                return json.loads(h5.attrs["model_config"])
        return json.loads(self.spec)

    def read(
        self, fmt: str, text: str, folder: Path, limits: ReadLimits = DEFAULT_LIMITS
    ) -> LoadedModel:
        """Read the model back in `fmt` with its config replaced by `text`."""
        if fmt == "keras_v3":
            return read_model(with_member(self.keras_path, folder, "config.json", text), limits)
        if fmt == "legacy_h5":
            return read_model(with_model_config(self.h5_path, folder, text), limits)
        return read_spec(text, limits)


def save_base(folder: Path) -> Saved:
    model = base_model()
    model.save(folder / "base.keras")
    model.save(folder / "base.h5")
    return Saved(folder / "base.keras", folder / "base.h5", model.to_json())


def with_member(source: Path, folder: Path, name: str, data: str | bytes) -> Path:
    """A copy of the archive `source` with member `name` replaced (or added)."""
    target = folder / "made.keras"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename != name:
                new.writestr(info, old.read(info))
        new.writestr(name, data)
    return target


def with_model_config(source: Path, folder: Path, text: str) -> Path:
    target = folder / "made.h5"
    shutil.copyfile(source, target)
    with h5py.File(target, "a") as h5:
        h5.attrs["model_config"] = text
    return target


def find_layer(config: Any, name: str) -> dict[str, Any]:
    """The layer entry (any depth) whose config is named `name`."""
    found = _find(config, name)
    if found is None:
        raise LookupError(name)
    return found


def _find(node: Any, name: str) -> dict[str, Any] | None:
    if isinstance(node, dict):
        cfg = node.get("config")
        if (
            isinstance(cfg, dict)
            and cfg.get("name") == name
            and "DTypePolicy" not in str(node.get("class_name"))
        ):
            return node
        children = list(node.values())
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _find(child, name)
        if found is not None:
            return found
    return None


def inject(config: dict[str, Any], target: str, change: Callable[[dict], None]) -> str:
    """A copy of `config` with `change` applied to the entry of layer `target`, as JSON."""
    config = copy.deepcopy(config)
    change(find_layer(config, target))
    return json.dumps(config)


def replace_layer(entry: dict[str, Any], new: dict[str, Any]) -> None:
    """Put `new` (a serialized layer) in place of `entry`, keeping its name and connections."""
    name = entry["config"]["name"]
    for key in ("class_name", "module", "registered_name", "build_config"):
        entry.pop(key, None)
    entry.update({k: v for k, v in new.items() if k != "config"})
    entry["config"] = {**new["config"], "name": name}


# Each hostile construct: (its builder, given the watched folder, of an edit to one layer's
# config entry; the refusal code the scan gives it).
def lambda_bytecode(folder):
    return lambda entry: replace_layer(entry, serialized(layers.Lambda(canary_function(folder))))


def lambda_reference(folder):
    function = {"module": "builtins", "class_name": "function", "config": "print"}
    lam = {"module": "keras.layers", "class_name": "Lambda", "config": {"function": function}}
    return lambda entry: replace_layer(entry, lam)


def lambda_activation(folder):
    function = serialized(layers.Lambda(canary_function(folder)))["config"]["function"]
    assert function["class_name"] == "__lambda__"
    return lambda entry: entry["config"].update(activation=function)


def function_initializer(folder):
    function = {"module": "os", "class_name": "function", "config": "system"}
    return lambda entry: entry["config"].update(kernel_initializer=function)


def unknown_activation(folder):
    return lambda entry: entry["config"].update(activation="os.system")


def tfsm_layer(folder):
    config = {"filepath": "/srv/models/saved", "call_endpoint": "serve"}
    return lambda entry: replace_layer(entry, {"class_name": "TFSMLayer", "config": config})


def torch_wrapper(folder):
    config = {"module": "gASVKAAAAAAAAACMBXBvc2l4lIwGc3lzdGVtlJOUjAVlY2hvIJSFlFKULg=="}
    wrapper = {"class_name": "TorchModuleWrapper", "config": config}
    return lambda entry: replace_layer(entry, wrapper)


def file_vocabulary(folder):
    config = {"vocabulary": "https://evil.example/vocab.txt", "output_mode": "int"}
    return lambda entry: replace_layer(entry, {"class_name": "StringLookup", "config": config})


def unexpected_module(folder):
    return lambda entry: entry.update(module="evil.layers")


def unexpected_registered_name(folder):
    return lambda entry: entry.update(registered_name="evil>Dense")


def custom_class(folder):
    return lambda entry: entry.update(class_name="EvilDense", registered_name="evil>EvilDense")


def custom_initializer(folder):
    init = {"module": "evil.init", "class_name": "Evil", "config": {}, "registered_name": None}
    return lambda entry: entry["config"].update(kernel_initializer=init)


CONSTRUCTS = {
    "lambda-bytecode": (lambda_bytecode, "lambda-layer"),
    "lambda-reference": (lambda_reference, "lambda-layer"),
    "lambda-activation": (lambda_activation, "python-lambda"),
    "function-initializer": (function_initializer, "function-reference"),
    "unknown-activation": (unknown_activation, "unknown-activation"),
    "tfsm-layer": (tfsm_layer, "code-layer"),
    "torch-wrapper": (torch_wrapper, "code-layer"),
    "file-vocabulary": (file_vocabulary, "file-vocabulary"),
    "unexpected-module": (unexpected_module, "unexpected-module"),
    "unexpected-registered-name": (unexpected_registered_name, "unexpected-registered-name"),
    "custom-class": (custom_class, "unknown-layer"),
    "custom-initializer": (custom_initializer, "unknown-object"),
}
