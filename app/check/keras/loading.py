"""Reading a job's files inside the worker: the model (through Keras), its weights, its inputs.

Keras arrives as an argument: this module imports no Keras itself. Loading uses safe mode
and never compiles; arrays are read with ``allow_pickle=False``. When Keras refuses a file,
the reason is told in a sentence of ours, built from identifiers found in the exception
chain (class names, config keys) and never from the exception text itself.
"""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from app.check.keras.initial_values import load_faithfully
from app.check.keras.jobs import JobFailed, JobRequest
from app.safety.spec_wrappers import model_config_of


def load_model(keras: Any, request: JobRequest, notes: list[str]) -> Any:
    """The request's model, by ``load_model`` (a file) or ``model_from_json`` + weights;
    without drawing the initial values the file's then replace, unless the request says
    not to (app.check.keras.initial_values)."""
    load = partial(_load, keras, request)
    model = load_faithfully(keras, load) if request.defer_initializers else load()
    if request.kind == "spec" and request.weights_path is None:
        notes.append("No weights were given: the model runs with freshly initialized weights.")
    return model


# The kinds of object a model's load walks for their saved state (keras.src.saving.saving_lib).
_WALKED_TYPES = ("Operation", "Layer", "Functional", "Sequential")


def keep_attr_skipsets(keras: Any) -> None:
    """Keep, where Keras looks for them, the attribute sets its loader skips for each kind of
    object it walks: Keras 3.15's `saving_lib.get_attr_skipset` reads its cache under
    `saving_attr_skiplist_<type>` but writes it under `saving_attr_skipset_<type>`, so each
    of a load's calls (one per layer) builds a fresh `Layer()` and lists its attributes again:
    76-92 ms of MobileNetV2's load in a fresh warmed worker (157 calls), 79 ms of ResNet50's.
    The sets are Keras' own, computed once here; what the load skips is unchanged. A Keras
    without the function (or with its cache mended) loads as it would anyway."""
    from keras.src.backend.common import global_state
    from keras.src.saving import saving_lib

    skipset = getattr(saving_lib, "get_attr_skipset", None)
    if skipset is None:
        return
    for obj_type in _WALKED_TYPES:
        key = f"saving_attr_skiplist_{obj_type}"
        if global_state.get_global_attribute(key) is None:
            global_state.set_global_attribute(key, skipset(obj_type))


def _load(keras: Any, request: JobRequest) -> Any:
    try:
        if request.kind == "file":
            path = _loadable_path(Path(request.model_path))
            return keras.saving.load_model(path, safe_mode=True, compile=False)
        config = Path(request.model_path).read_text()
        model = model_from_text(keras, config)
    except Exception as exc:
        message, reason = explain_load_failure(exc)
        code = "keras3-refuses-name" if reason["kind"] == "refused-name" else "keras-load-failed"
        failed = JobFailed(code, message, exc)
        failed.result.reason = reason
        raise failed from exc
    if request.weights_path is not None:
        _set_weights(model, request.weights_path)
    return model


def model_from_text(keras: Any, text: str) -> Any:
    """A model from its config JSON, unwrapped as the safety scan read it (a string of JSON
    decoded, a TensorFlow.js model.json's topology). Keras 3's `model_from_json` needs the
    `module` keys Keras 3 writes; a Keras 2 `to_json()` (or a hand-written config) has none,
    and goes through the reader Keras 3 itself uses for legacy HDF5 configs."""
    config = model_config_of(json.loads(text))
    if isinstance(config, dict) and "module" not in config:
        from keras.src.legacy.saving import saving_utils

        return saving_utils.model_from_config(config)
    return keras.models.model_from_json(json.dumps(config))


def _loadable_path(path: Path) -> Path:
    """Keras picks the reader by file name; give the file the name its bytes call for."""
    suffix = ".keras" if zipfile.is_zipfile(path) else ".h5"
    if path.suffix == suffix or (suffix == ".h5" and path.suffix == ".hdf5"):
        return path
    alias = Path(tempfile.mkdtemp()) / f"model{suffix}"
    alias.symlink_to(path.resolve())
    return alias


def _set_weights(model: Any, weights_path: str) -> None:
    """``model.set_weights`` from ``w0, w1, ...``, with count and shapes checked first."""
    variables = model.weights
    arrays = _read_weights(weights_path, len(variables))
    for i, (variable, array) in enumerate(zip(variables, arrays, strict=True)):
        if tuple(variable.shape) != array.shape:
            raise JobFailed(
                "invalid-weights",
                f"Weight w{i} has shape {array.shape} but {_ident(variable.path)} "
                f"expects {tuple(variable.shape)}.",
            )
    try:
        model.set_weights(arrays)
    except Exception as exc:
        raise JobFailed("invalid-weights", "Keras refused these weights.", exc) from exc


def _read_weights(weights_path: str, count: int) -> list[np.ndarray]:
    """Exactly ``w0 ... w{count-1}``, plain arrays (no pickle)."""
    try:
        with np.load(weights_path, allow_pickle=False) as npz:
            names = sorted(npz.files)
            arrays = [npz[f"w{i}"] for i in range(count)]
    except (KeyError, ValueError, OSError) as exc:
        raise JobFailed(
            "invalid-weights",
            f"The weights file must hold {_names('w', count)}, plain arrays only.",
            exc,
        ) from exc
    if len(names) != count:
        raise JobFailed(
            "invalid-weights", f"The model has {count} weights but {len(names)} were given."
        )
    return arrays


_REFUSED_KEYS = re.compile(r"Unrecognized keyword arguments passed to (\w+): \{(.*)\}", re.S)
_UNKNOWN_CLASS = (
    re.compile(r"Could not locate (?:class|function) '([\w.]+)'"),
    re.compile(r"Could not deserialize '([\w.]+)' because it is not a KerasSaveable"),
    re.compile(r"Unknown [\w ]+: '([\w.]+)'"),
)
_INPUT_COUNT = re.compile(
    r'Layer "(\w+)" expects (\d+) (?:named )?input\(s\).*?but it received (\d+) input', re.S
)
# Keras 3's Operation refuses a name with "/", which Keras 2 took (tf.keras ports).
_REFUSED_NAME = re.compile(r"cannot contain character `/`\. Received: name=(.*?) \(of type", re.S)
_NESTED_DICT = re.compile(r"\{[^{}]*\}")
_IDENT = re.compile(r"[A-Za-z_][\w./]{0,79}")


def explain_load_failure(exc: BaseException) -> tuple[str, dict[str, Any]]:
    """A plain sentence for why Keras refused a file, and the reason as data.

    Read from the exception chain, root cause first. The reason's ``kind`` is
    ``refused-keys`` (with ``class_name`` and ``keys``), ``refused-name`` (a layer name with
    ``/``, which Keras 3 refuses: ``name``), ``rebuild-failed`` (a nested model
    given the wrong number of inputs, ``class_name`` its name), ``unknown-class``
    (``class_name``), ``unsafe-code`` or ``other``.
    """
    texts = [str(e) for e in reversed(_chain(exc))]
    for text in texts:
        if found := _REFUSED_NAME.search(text):
            name = _ident(found.group(1))
            return (
                f'Keras 3 refuses layer names containing "/", and this model names a layer '
                f"{name}; Keras 2 accepted such names.",
                {"kind": "refused-name", "name": name},
            )
        if found := _REFUSED_KEYS.search(text):
            name, keys = _ident(found.group(1)), _top_level_keys(found.group(2))[:8]
            return (
                f"Keras 3 cannot load this file: its config gives {name} "
                f"the keys {', '.join(keys)}, which this Keras version refuses.",
                {"kind": "refused-keys", "class_name": name, "keys": keys},
            )
        if found := _INPUT_COUNT.search(text):
            name, expected, given = _ident(found.group(1)), found.group(2), found.group(3)
            return (
                f"Keras 3 cannot rebuild this model from its config: the nested model {name} "
                f"is given {given} inputs where it takes {expected}, an incompatibility of "
                "Keras 3 with how older Keras saved nested models.",
                {"kind": "rebuild-failed", "class_name": name},
            )
        if name := _unknown_class(text):
            return (
                f"Keras 3 cannot load this file: its config uses the class {name}, "
                "which this Keras version does not know.",
                {"kind": "unknown-class", "class_name": name},
            )
    if any("safe_mode" in text for text in texts):
        return (
            "Keras refused to load this file in safe mode: its config holds Python code "
            "(for example the function of a Lambda layer).",
            {"kind": "unsafe-code"},
        )
    return "Keras could not load this model file.", {"kind": "other"}


def _unknown_class(text: str) -> str | None:
    for pattern in _UNKNOWN_CLASS:
        if found := pattern.search(text):
            return _ident(found.group(1).rsplit(".", 1)[-1])
    return None


def _top_level_keys(dict_body: str) -> list[str]:
    """The keys of a printed dict's body, nested dicts removed first."""
    while (flat := _NESTED_DICT.sub("", dict_body)) != dict_body:
        dict_body = flat
    return [_ident(key) for key in re.findall(r"'(\w+)':", dict_body)]


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _ident(name: str) -> str:
    """An identifier from a Keras message, or a placeholder: no other text gets through."""
    return name if _IDENT.fullmatch(name) else "(unnamed)"


def read_inputs(inputs_path: str, model_inputs: list) -> list[np.ndarray]:
    """``x0, x1, ...`` from the .npz, one per model input, checked against its shape."""
    try:
        with np.load(inputs_path, allow_pickle=False) as npz:
            arrays = [npz[f"x{i}"] for i in range(len(model_inputs))]
            extra = len(npz.files) - len(model_inputs)
    except (KeyError, ValueError, OSError) as exc:
        raise JobFailed(
            "invalid-inputs",
            f"The inputs file must hold {_names('x', len(model_inputs))}, plain arrays only.",
            exc,
        ) from exc
    if extra:
        raise JobFailed("invalid-inputs", f"The model has {len(model_inputs)} inputs only.")
    for i, (array, tensor) in enumerate(zip(arrays, model_inputs, strict=True)):
        _check_input(i, array, tuple(tensor.shape), len(arrays[0]))
    return arrays


def _check_input(i: int, array: np.ndarray, expected: tuple, batch: int) -> None:
    fits = array.ndim == len(expected) and all(
        e is None or e == a for e, a in zip(expected, array.shape, strict=True)
    )
    if not fits:
        raise JobFailed(
            "invalid-inputs", f"Input x{i} has shape {array.shape}; the model expects {expected}."
        )
    if len(array) != batch or batch == 0:
        raise JobFailed("invalid-inputs", "Every input must hold the same, non-zero batch size.")


def _names(prefix: str, count: int) -> str:
    """``x0`` or ``x0 ... x3``: the array names an .npz must hold."""
    return f"{prefix}0" if count == 1 else f"{prefix}0 ... {prefix}{count - 1}"
