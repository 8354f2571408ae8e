"""The inputs a check runs on: seeded random by default, or the caller's own.

Seeded inputs (`make_inputs`, from `planned_inputs`: what the check needs of each Input,
taken from the graph when the model is read, so the check never reads the file again):
    batch       BATCH_SIZE samples
    None dims   SEQUENCE_LENGTH for the axis after the batch of a rank-2 or rank-3 input
                (time steps: token ids, or steps of features), SPATIAL_SIZE for the other
                unknown axes (height, width, depth, ...)
    floats      Normal(0, 1), in the Input's dtype
    ids         an Input that feeds an Embedding gets integer ids, uniform in
                [0, input_dim); the second sample ends in zeros (padding) so that
                `mask_zero=True` is exercised
Caller's inputs (`read_caller_arrays`, then `caller_inputs`): one array per model input,
each fitting its Input's shape (None matches any size) and cast to its dtype; the batch is
the same for all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from app.check.input_files import MAX_ARRAY_VALUES, read_input_file
from app.errors import InvalidRequest
from app.graph import LayerNode, ModelGraph, TensorRef, variable_dtype
from app.safety.safe_json import load_json
from app.schemas import CheckInputs, InputInfo

BATCH_SIZE = 2
SEQUENCE_LENGTH = 8
SPATIAL_SIZE = 32
PADDING_FRACTION = 4  # the second sample's last 1/4 of ids are 0


class PlannedInput(BaseModel):
    """One model Input as seeding needs it: its layer name, `batch_shape` (None when the
    config gives none), dtype, and the vocabulary of the Embedding it feeds, if any."""

    model_config = ConfigDict(extra="forbid")

    name: str
    batch_shape: list[int | None] | None
    dtype: str
    vocabulary: int | None


# Keras' names for an Input of text (`keras.Input(dtype="string")`, tf.keras' tf.string)
TEXT_DTYPES = frozenset({"string", "str"})


def text_inputs(planned: Sequence[PlannedInput]) -> list[str]:
    """The inputs that take strings: no seed draws them, and no caller array fits them."""
    return [entry.name for entry in planned if entry.dtype in TEXT_DTYPES]


def planned_inputs(graph: ModelGraph) -> list[PlannedInput]:
    """Every model input of `graph`, in order, as `make_inputs` needs it."""
    planned = []
    for ref in graph.inputs:
        node = graph.layer(ref.layer)
        shape = node.config.get("batch_shape")
        planned.append(
            PlannedInput(
                name=node.name,
                batch_shape=shape if isinstance(shape, list) and shape else None,
                dtype=input_dtype(node),
                vocabulary=embedding_vocabulary(graph, ref),
            )
        )
    return planned


def make_inputs(planned: Sequence[PlannedInput], seed: int) -> tuple[list[np.ndarray], CheckInputs]:
    """Seeded inputs for every model input, and how they were made."""
    rng = np.random.default_rng(seed)
    arrays, notes = [], []
    for entry in planned:
        shape = concrete_shape(input_shape(entry))
        if entry.vocabulary is None:
            arrays.append(rng.standard_normal(shape).astype(entry.dtype))
        else:
            arrays.append(_ids(rng, shape, entry.vocabulary, entry.dtype))
            notes.append(f"{entry.name}: integer ids in [0, {entry.vocabulary}) for its Embedding.")
    return arrays, CheckInputs(
        source="seeded",
        seed=seed,
        distribution="Normal(0, 1) for float inputs; uniform integer ids for Embedding inputs",
        batch_size=BATCH_SIZE,
        shapes=[list(a.shape) for a in arrays],
        notes=notes + _size_notes(planned),
    )


def caller_inputs(
    inputs: Sequence[InputInfo], arrays: Sequence[Any]
) -> tuple[list[np.ndarray], CheckInputs]:
    """The caller's arrays, checked against the model's inputs and cast to their dtypes."""
    if len(arrays) != len(inputs):
        raise InvalidRequest(
            f"The model takes {len(inputs)} input(s); {len(arrays)} were given.",
            {"expected": len(inputs), "given": len(arrays)},
        )
    checked = [_fit(info, _array(info, a)) for info, a in zip(inputs, arrays, strict=True)]
    if len({a.shape[0] for a in checked}) > 1:
        raise InvalidRequest("Every input must have the same batch size (first axis).")
    return checked, CheckInputs(
        source="caller",
        batch_size=int(checked[0].shape[0]),
        shapes=[list(a.shape) for a in checked],
    )


def read_caller_arrays(inputs: Sequence[InputInfo], path=None, value: Any = None) -> list[Any]:
    """The caller's inputs as one array (or nested list) per model input, in model order.

    From a file: `.npy` (one input) or `.npz` (arrays named after the Inputs, or x0, x1, ...),
    read by `input_files`, which checks each header before reading the array. From JSON: an
    array for a one-input model; for several inputs, a list with one array per input, or an
    object keyed by Input name.
    """
    if path is not None:
        return _from_file(inputs, path)
    if isinstance(value, str):
        value = _json(value)
    if isinstance(value, dict):
        return _by_name(inputs, value)
    if not isinstance(value, list):
        raise InvalidRequest("`inputs` must be a JSON array (or an object keyed by Input name).")
    return [value] if len(inputs) == 1 else value


def _json(text: str) -> Any:
    return load_json(text, what="The field `inputs`", syntax_error=InvalidRequest)


def _from_file(inputs: Sequence[InputInfo], path) -> list[Any]:
    loaded = read_input_file(path)  # headers checked before any array is read
    return [loaded] if isinstance(loaded, np.ndarray) else _by_name(inputs, loaded)


def _by_name(inputs: Sequence[InputInfo], named: dict[str, Any]) -> list[Any]:
    """Arrays keyed by Input name, or x0, x1, ... in model order."""
    for keys in ([info.name for info in inputs], [f"x{i}" for i in range(len(inputs))]):
        if set(named) == set(keys):
            return [named[key] for key in keys]
    if len(inputs) == 1 and len(named) == 1:
        return list(named.values())
    raise InvalidRequest(
        "Name the inputs after the model's Inputs ("
        + ", ".join(info.name for info in inputs)
        + ") or x0, x1, ...",
        {"given": sorted(named)[:10]},
    )


def input_shape(entry: PlannedInput) -> list[int | None]:
    if entry.batch_shape is None:
        raise InvalidRequest(f"Input {entry.name!r} has no known shape, so no inputs can be made.")
    return entry.batch_shape


def input_dtype(node: LayerNode) -> str:
    return variable_dtype(node.config)


def concrete_shape(shape: Sequence[int | None]) -> tuple[int, ...]:
    """The batch axis is BATCH_SIZE; other None axes take the documented sizes."""
    dims = [BATCH_SIZE]
    for axis, dim in enumerate(shape[1:], start=1):
        if dim is None:
            dim = SEQUENCE_LENGTH if axis == 1 and len(shape) <= 3 else SPATIAL_SIZE
        dims.append(int(dim))
    return tuple(dims)


def embedding_vocabulary(graph: ModelGraph, ref: TensorRef) -> int | None:
    """The smallest `input_dim` of the Embeddings this input feeds directly, else None."""
    dims = [int(n.config["input_dim"]) for n in _consumers(graph, ref.layer) if _is_embedding(n)]
    return min(dims) if dims else None


def _is_embedding(node: LayerNode) -> bool:
    return node.class_name == "Embedding" and "input_dim" in node.config


def _consumers(graph: ModelGraph, layer: str) -> list[LayerNode]:
    """The layers a tensor of `layer` flows into, looking through nested models' inputs."""
    found = []
    for node in graph.layers:
        for call in node.calls:
            if any(ref.layer == layer for ref in call):
                found += _entry_layers(node) if node.inner is not None else [node]
    return found


def _entry_layers(node: LayerNode) -> list[LayerNode]:
    assert node.inner is not None
    return [c for ref in node.inner.inputs for c in _consumers(node.inner, ref.layer)]


def _ids(rng: np.random.Generator, shape: tuple[int, ...], vocabulary: int, dtype: str):
    ids = rng.integers(1 if vocabulary > 1 else 0, vocabulary, size=shape)
    if len(shape) >= 2 and shape[0] > 1:
        ids[1, shape[1] - max(1, shape[1] // PADDING_FRACTION) :] = 0
    kind = np.dtype(dtype).kind if dtype not in ("bfloat16",) else "f"
    return ids.astype(dtype if kind in "iu" else "int32")


def _size_notes(planned: Sequence[PlannedInput]) -> list[str]:
    notes = []
    for entry in planned:
        shape = input_shape(entry)
        if None in shape[1:]:
            concrete = concrete_shape(shape)
            notes.append(
                f"{entry.name}: unknown sizes in {_text(shape)} were set to {_text(concrete)} "
                f"(time steps {SEQUENCE_LENGTH}, other axes {SPATIAL_SIZE})."
            )
    return notes


def _text(shape: Sequence[int | None]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _array(info: InputInfo, value: Any) -> np.ndarray:
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise InvalidRequest(
            f"The input for {info.name!r} is not a rectangular array of numbers."
        ) from exc


def _fit(info: InputInfo, array: np.ndarray) -> np.ndarray:
    expected = info.shape or []
    if array.dtype.hasobject or array.dtype.kind not in "biuf":
        raise InvalidRequest(
            f"The input for {info.name!r} must hold numbers, of equal-length rows."
        )
    if array.size > MAX_ARRAY_VALUES:
        raise InvalidRequest(
            f"The input for {info.name!r} has more than {MAX_ARRAY_VALUES:,} values."
        )
    if not _fits(expected, array.shape):
        raise InvalidRequest(
            f"The input for {info.name!r} has shape {_text(array.shape)}; the model expects "
            f"{_text(expected)} (None: any size).",
            {"input": info.name, "shape": list(array.shape), "expected": expected},
        )
    return array.astype(info.dtype, copy=False)


def _fits(expected: Sequence[int | None], shape: tuple[int, ...]) -> bool:
    if len(expected) != len(shape) or shape[0] == 0:
        return False
    return all(e is None or e == s for e, s in zip(expected, shape, strict=True))
