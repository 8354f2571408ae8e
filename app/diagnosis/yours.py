"""Their numbers (`yours`), read and checked before anything runs.

    .npz           arrays keyed by layer name (a model output is its layer's output)
    .npy           one array: the output of a model with a single output
    JSON           {"layer_name": array, ...}, or one array for a single-output model

Each must name a layer of the model (not an Input), hold plain numbers (floats or
integers), every one finite, and have the shape of that layer's output; the first fault
is a 400 naming the field and the layer (`details`: field, layer). Files are read by the
check's reader of input files (headers checked before any array is read).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.check.input_files import read_input_file
from app.errors import (
    InvalidYours,
    YoursNotFinite,
    YoursUnknownLayer,
    YoursWrongDtype,
    YoursWrongShape,
)
from app.safety.safe_json import load_json

FIELD = "yours"
MAX_VALUES = 16 << 20


def read_yours(
    layers: Sequence[str], outputs: Sequence[str], path: Path | None = None, value: Any = None
) -> dict[str, np.ndarray]:
    """Their arrays by layer name, from a file or a JSON value; `layers` are the model's
    own layers (Inputs excluded), `outputs` the layers whose outputs are the model's."""
    named = _named(outputs, path, value)
    if not named:
        raise InvalidYours("`yours` holds no arrays.", {"field": FIELD})
    return {name: _checked(name, array, layers) for name, array in named.items()}


def wrong_shape(name: str, shape: tuple, expected: tuple) -> YoursWrongShape:
    """The 400 for an array whose shape is not its layer's output's on the same inputs
    (and that no mistake of the catalogue that changes a shape explains)."""
    return YoursWrongShape(
        f"Your array for layer {name!r} has shape {list(shape)}; that layer's output on "
        f"these inputs has shape {list(expected)}.",
        {"field": FIELD, "layer": name, "shape": list(shape), "expected": list(expected)},
    )


def _named(outputs: Sequence[str], path: Path | None, value: Any) -> dict[str, Any]:
    if path is not None:
        loaded = read_input_file(path)
        return _single(outputs, loaded) if isinstance(loaded, np.ndarray) else dict(loaded)
    if isinstance(value, str):
        value = load_json(  # NaN read as a float: refused below, naming its layer
            value, what="The field `yours`", syntax_error=InvalidYours, non_finite=True
        )
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return _single(outputs, value)
    raise InvalidYours(
        '`yours` must be a .npz or .npy file, or JSON {"layer_name": array}.', {"field": FIELD}
    )


def _single(outputs: Sequence[str], array: Any) -> dict[str, Any]:
    if len(outputs) != 1:
        raise InvalidYours(
            f"The model has {len(outputs)} outputs: name each array after its layer "
            f"({', '.join(outputs[:8])}) in a .npz or a JSON object.",
            {"field": FIELD, "outputs": list(outputs[:8])},
        )
    return {outputs[0]: array}


def _checked(name: str, value: Any, layers: Sequence[str]) -> np.ndarray:
    if name not in layers:
        raise YoursUnknownLayer(
            f"The model has no layer named {name[:80]!r} (its layers: "
            f"{', '.join(layers[:8])}{', ...' if len(layers) > 8 else ''}).",
            {"field": FIELD, "layer": name[:80]},
        )
    array = _array(name, value)
    if array.size > MAX_VALUES:
        raise InvalidYours(
            f"Your array for layer {name!r} holds more than {MAX_VALUES:,} values.",
            {"field": FIELD, "layer": name},
        )
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise YoursNotFinite(
            f"Your array for layer {name!r} holds {bad} NaN or infinite value(s); send the "
            "numbers before they overflowed, or the layer before.",
            {"field": FIELD, "layer": name, "not_finite": bad},
        )
    return array


def _array(name: str, value: Any) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        array = np.asarray(None)
    if array.dtype.kind not in "fiub" or array.ndim == 0:
        raise YoursWrongDtype(
            f"Your values for layer {name!r} must be an array of numbers (got "
            f"{'a ragged or non-numeric array' if array.ndim else 'a single value'}).",
            {"field": FIELD, "layer": name, "dtype": str(array.dtype)},
        )
    return array.astype(
        np.float64 if array.dtype.kind == "f" and array.itemsize > 4 else np.float32
    )
