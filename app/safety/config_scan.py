"""The config scan: every object of a model config walked, before the config becomes a graph.

Two outcomes, kept apart:

- hostile (an error is raised): a file path or URL anywhere Keras would read a config value
  (`PathInConfig`). Nothing Keras needs to build a model points outside the file.
- code-bearing or unknown (a `Refusal` is returned): the model is still explained, by our own
  parser, but must never run in Keras. Found in one pass and returned together.

Walked: the layers of every model (nested Sequential and Functional models included), the
layers wrappers hold (`layer`, `backward_layer`: Bidirectional, TimeDistributed), RNN cells
(`cell`, `cells`), activations, and every other object: initializers, regularizers,
constraints, dtype policies, inbound-node tensors, build configs. A refused layer is not
descended into: it will not run, so nothing inside it needs clearing.

`compile_config` (optimizer, loss, metrics) is neither refused nor walked: Keras never reads
it. Keras would act on it although our worker loads with `compile=False` on a nested model
(deserialize_keras_object compiles any object that carries one) and on a spec (model_from_json
deserializes the top object the same way); the check's Keras 3 copy leaves exactly those out
(app.check.keras3_copy, `_compile_settings`: the check's plan then names the change, so Keras
is only ever given the copy). The top model's own `compile_config` in a `.keras` file is
dropped by Keras under `compile=False` (saving_lib._model_from_config), as is a legacy file's
`training_config` (read only when compiling).
"""

from __future__ import annotations

import re
from typing import Any

from app.errors import PathInConfig
from app.graph import CONTAINER_CLASSES
from app.layers.operations import operation_name
from app.layers.registry import lookup, traits_of
from app.reference.op_layers import op_layer_function, written_function
from app.safety.allowlist import (
    activation_known,
    layer_class_known,
    layer_module_expected,
    object_known,
    registered_name_expected,
)
from app.safety.refusals import Refusal

Path = tuple[str, ...]
ENTRY_KEYS = frozenset({"class_name", "config", "module", "registered_name", "compile_config"})
WRAPPED_KEYS = frozenset({"layer", "backward_layer", "forward_layer"})
CELL_KEYS = frozenset({"cell", "cells"})
# Objects Keras writes for tensors and values (inbound-node tensors, arrays, bytes): no code,
# walked like any value.
VALUE_MARKERS = frozenset(
    {"__keras_tensor__", "__numpy__", "__tensor__", "__bytes__", "__ellipsis__", "__slice__"}
)
FOREIGN_CODE_LAYERS = {
    "TFSMLayer": "loads and runs a TensorFlow SavedModel from a path",
    "TorchModuleWrapper": "runs a pickled PyTorch module",
    "JaxLayer": "calls JAX functions named in its config",
    "FlaxLayer": "runs a Flax module named in its config",
}
URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:(//|[\\/])")
WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
ABSOLUTE_PREFIXES = ("/", "\\", "~/", "~\\")


def scan_model_config(config: Any) -> list[Refusal]:
    """Every refusal in a model config (the object model.to_json() writes, or a file's);
    raises `PathInConfig` for a path or URL."""
    scanner = _Scanner()
    scanner.model(config, (), top=True)
    return scanner.refusals


def looks_like_path(text: str) -> bool:
    """An absolute path, a home-relative or parent-relative path, a drive, or a URL. The
    patterns of the last two are matched only on text with a colon, which both need: most
    strings of a config have none (ResNet50's 3,061: ~1 ms less)."""
    return (
        text.startswith(ABSOLUTE_PREFIXES)
        or (".." in text and (text == ".." or "../" in text or "..\\" in text))
        or (":" in text and bool(WINDOWS_DRIVE.match(text) or URL.match(text)))
    )


class _Scanner:
    def __init__(self) -> None:
        self.refusals: list[Refusal] = []

    def refuse(self, code: str, class_name: str | None, path: Path, reason: str) -> None:
        self.refusals.append(Refusal(code, class_name, path, reason))

    # Layers ------------------------------------------------------------------------------

    def model(self, entry: Any, path: Path, *, top: bool = False) -> None:
        if not isinstance(entry, dict):
            return self.values(entry, path)
        class_name = _class_name(entry)
        if not top and not self.origin_expected(entry, class_name, path):
            return None
        config = entry.get("config")
        for item in _model_layers(config):
            self.layer(item, (*path, _entry_name(item)))
        if isinstance(config, dict):
            self.values({k: v for k, v in config.items() if k != "layers"}, path)
        return self.values(_rest(entry), path)

    def layer(self, entry: Any, path: Path, *, cell: bool = False) -> None:
        class_name = _class_name(entry)
        if class_name is None:
            return self.values(entry, path)
        if class_name in CONTAINER_CLASSES:
            return self.model(entry, path)
        operation = operation_name(class_name, entry.get("module"), entry.get("config"))
        if operation is not None:
            return self.operation(entry, operation, path)
        if self.code_bearing(entry, class_name, path):
            return None
        if not layer_class_known(class_name, cell=cell):
            return self.unknown_layer(class_name, path)
        if not self.origin_expected(entry, class_name, path):
            return None
        if not self.op_layer_allowed(entry, class_name, path):
            return None
        self.layer_config(entry.get("config"), path)
        return self.values(_rest(entry), path)

    def op_layer_allowed(self, entry: dict, class_name: str, path: Path) -> bool:
        """A tf.keras op layer names a TensorFlow function: only those of the reference's
        allowlist (app.reference.op_layers) are read; any other is refused by its name."""
        if not traits_of(class_name).op_layer:
            return True
        config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        if op_layer_function(class_name, config) is not None:
            return True
        function = written_function(class_name, config)
        self.refuse(
            "unknown-op-function",
            class_name,
            path,
            f"The {class_name} layer calls the TensorFlow function {_shown(function)}, which "
            "is not one the explainer reads; it is never run.",
        )
        return False

    def layer_config(self, config: Any, path: Path) -> None:
        if not isinstance(config, dict):
            return self.values(config, path)
        for key, value in config.items():
            if key in WRAPPED_KEYS or key in CELL_KEYS:
                self.wrapped(value, path, key)
            elif key.endswith("activation"):
                self.activation(value, path, key)
            else:
                self.values(value, path)
        return None

    def wrapped(self, value: Any, path: Path, key: str) -> None:
        for item in value if isinstance(value, list) else [value]:
            if item is not None:
                self.layer(item, (*path, _entry_name(item, key)), cell=key in CELL_KEYS)

    def operation(self, entry: dict, operation: str, path: Path) -> None:
        """Tensor arithmetic recorded as a node (`x + 3.0`): only the operations the
        registry knows (app.layers.operations), from Keras' own ops modules."""
        if not self.module_expected(entry, operation, path, "operation"):
            return None
        if lookup(operation) is None:
            self.refuse(
                "unknown-layer",
                operation,
                path,
                f"The operation {_shown(operation)} is not one the explainer knows; an "
                "operation it does not know is never handed to Keras.",
            )
            return None
        return self.values(_rest(entry), path)

    def unknown_layer(self, class_name: str, path: Path) -> None:
        self.refuse(
            "unknown-layer",
            class_name,
            path,
            f"The layer class {_shown(class_name)} is not one the explainer knows; a class "
            "it does not know is never handed to Keras.",
        )

    # Checks that refuse ------------------------------------------------------------------

    def code_bearing(self, entry: dict, class_name: str, path: Path) -> bool:
        found = _code_in_layer(entry, class_name)
        if found is not None:
            self.refuse(found[0], class_name, path, found[1])
        return found is not None

    def module_expected(self, entry: dict, name: str, path: Path, kind: str) -> bool:
        """A `module` key, when there is one, is where Keras keeps `name` (a class or an
        operation, as `kind` says in the sentence)."""
        module = entry.get("module")
        if module is not None and not layer_module_expected(module, name):
            self.refuse(
                "unexpected-module",
                name,
                path,
                f"The {kind} {_shown(name)} is named with module {_shown(module)}, "
                "which is not where Keras keeps it.",
            )
            return False
        return True

    def origin_expected(self, entry: dict, class_name: str, path: Path) -> bool:
        if not self.module_expected(entry, class_name, path, "class"):
            return False
        if not registered_name_expected(entry.get("registered_name"), class_name):
            self.refuse(
                "unexpected-registered-name",
                class_name,
                path,
                f"The class {_shown(class_name)} carries the registered name "
                f"{_shown(entry.get('registered_name'))}, which only user code registers.",
            )
            return False
        return True

    def activation(self, value: Any, path: Path, key: str) -> None:
        if isinstance(value, str):
            self.check_string(value, path)
        if value is None or activation_known(value):
            return
        if isinstance(value, dict) and value.get("class_name") == "__lambda__":
            return self.python_lambda(path)
        self.refuse(
            "unknown-activation",
            _class_name(value) or "activation",
            path,
            f"Its `{key}` is {_describe(value)}, not one of Keras' own activations.",
        )
        return None

    def python_lambda(self, path: Path) -> None:
        self.refuse(
            "python-lambda",
            "__lambda__",
            path,
            "The config holds a Python lambda as bytecode; loading it would run that code.",
        )

    # Every other value -------------------------------------------------------------------

    def values(self, value: Any, path: Path) -> None:
        if isinstance(value, str):
            self.check_string(value, path)
        elif isinstance(value, list):
            for item in value:
                self.values(item, path)
        elif isinstance(value, dict):
            self.mapping(value, path)

    def mapping(self, value: dict, path: Path) -> None:
        if isinstance(value.get("class_name"), str):
            return self.obj(value, path)
        for key, item in value.items():
            self.check_string(key, path)
            self.values(item, path)
        return None

    def obj(self, value: dict, path: Path) -> None:
        class_name = value["class_name"]
        if class_name in VALUE_MARKERS:
            return self.values(value.get("config"), path)
        if class_name == "__lambda__":
            return self.python_lambda(path)
        if class_name == "function":
            return self.function_reference(value, path)
        if self.code_bearing(value, class_name, path):
            return None
        if not _object_expected(value, class_name):
            return self.unknown_object(value, class_name, path)
        return self.values(value.get("config"), path)

    def function_reference(self, value: dict, path: Path) -> None:
        self.refuse(
            "function-reference",
            "function",
            path,
            f"The config names the function {_describe(value.get('config'))} by reference; "
            "resolving it would import and call code from outside the file.",
        )

    def unknown_object(self, value: dict, class_name: str, path: Path) -> None:
        module = value.get("module")
        origin = f" from module {_shown(module)}" if module is not None else ""
        self.refuse(
            "unknown-object",
            class_name,
            path,
            f"The config holds an object of class {_shown(class_name)}{origin}, which is not "
            "an initializer, regularizer, constraint or dtype policy Keras provides.",
        )

    def check_string(self, text: str, path: Path) -> None:
        if looks_like_path(text):
            where = "/".join(path) or "the model itself"
            raise PathInConfig(
                f"The model config holds a file path or URL ({_shown(text)}, at {where}); "
                "nothing Keras needs to build a model points outside the file.",
                details={"path": list(path)},
            )


def _code_in_layer(entry: dict, class_name: str) -> tuple[str, str] | None:
    """(refusal code, reason) for a class that carries or fetches code, else None."""
    config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
    if class_name == "Lambda":
        how = _lambda_kind(config.get("function"))
        return "lambda-layer", f"A Lambda layer runs Python code stored in the file ({how})."
    if class_name in FOREIGN_CODE_LAYERS:
        return "code-layer", f"A {class_name} {FOREIGN_CODE_LAYERS[class_name]}."
    if traits_of(class_name).reads_vocabulary and isinstance(config.get("vocabulary"), str):
        return "file-vocabulary", f"This {class_name} reads its vocabulary from a file or URL."
    return None


def _lambda_kind(function: Any) -> str:
    if isinstance(function, list) or (
        isinstance(function, dict) and function.get("class_name") == "__lambda__"
    ):
        return "bytecode"
    return "a function reference"


def _object_expected(value: dict, class_name: str) -> bool:
    module = value.get("module")
    return (
        (module is None or isinstance(module, str))
        and object_known(module, class_name)
        and registered_name_expected(value.get("registered_name"), class_name)
    )


def _model_layers(config: Any) -> list[Any]:
    """A model config's layer entries; Keras 2.0 and 2.1 wrote a Sequential's as the config."""
    if isinstance(config, list):
        return config
    layers = config.get("layers") if isinstance(config, dict) else None
    return layers if isinstance(layers, list) else []


def _rest(entry: dict) -> dict:
    """An entry's other keys: `name`, `inbound_nodes`, `build_config`, `shared_object_id`."""
    return {key: value for key, value in entry.items() if key not in ENTRY_KEYS}


def _class_name(entry: Any) -> str | None:
    if isinstance(entry, dict) and isinstance(entry.get("class_name"), str):
        return entry["class_name"]
    return None


def _entry_name(entry: Any, fallback: str = "?") -> str:
    """A layer's name: the entry's (Keras 3), else its config's (Keras 2 and wrapped layers)."""
    if not isinstance(entry, dict):
        return fallback
    config = entry.get("config")
    name = entry.get("name") or (config.get("name") if isinstance(config, dict) else None)
    return _shown(name, quote=False) if isinstance(name, str) and name else fallback


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return f"an object of class {_shown(value.get('class_name'))}"
    return _shown(value)


def _shown(value: Any, *, quote: bool = True) -> str:
    """A config value fit for a message: printable, at most 60 characters."""
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value))[:60]
    return f"`{text}`" if quote else text
