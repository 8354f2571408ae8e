"""Keras operations that move array elements by hand (`ops.GetItem`, `ops.Reshape`, ...): the
key or settings the call was given, written as the Python a model's author wrote."""

from __future__ import annotations

from typing import Any

from app.errors import UnsupportedModel
from app.hand.rules import Facts, Hand, hand
from app.hand.rules import settings as line
from app.reference.array_operations import index_key
from app.reference.operations import OPS_PREFIX

C_ORDER = "Reshape keeps NumPy's row-major (C) order of the values; newshape counts the batch."
AXES_FROM_ZERO = "Axes count from 0, the batch axis; a negative axis counts from the end."


def key_text(key: Any) -> str:
    """`[:, 1:]`, `[..., 0]`, `[:, None]`: a GetItem key as it is written in Python."""
    items = key if isinstance(key, tuple) else (key,)
    return "[" + ", ".join(_item_text(item) for item in items) + "]"


def _item_text(item: Any) -> str:
    if item is Ellipsis:
        return "..."
    if isinstance(item, slice):
        bounds = ["" if v is None else str(v) for v in (item.start, item.stop, item.step)]
        return ":".join(bounds[:2]) + (f":{bounds[2]}" if item.step is not None else "")
    return str(item)


def _as_written(value: Any) -> str:
    """A list setting as the tuple a model's author wrote (`(-1, 12)`), else as it is."""
    return str(tuple(value)) if isinstance(value, list) else str(value)


def _call_arg(facts: Facts, position: int) -> Any:
    args = facts.get("call_args") or []
    return args[position] if len(args) > position else None


@hand(OPS_PREFIX + "GetItem")
def get_item(facts: Facts) -> Hand:
    try:
        key = key_text(index_key(_call_arg(facts, 1)))
    except UnsupportedModel:  # a tensor in the key: the check refuses it, the page shows it
        key = "[a key holding tensors]"
    return Hand(
        settings=line(f"key {key}"),
        formula=f"y = x{key}",
        conventions=("NumPy's basic indexing: an int drops its axis, None adds one.",),
    )


@hand(OPS_PREFIX + "Reshape")
def reshape(facts: Facts) -> Hand:
    newshape = _as_written(facts.get("newshape", ()))
    return Hand(
        settings=line(f"newshape {newshape}"),
        formula=f"y = x.reshape({newshape})",
        conventions=(C_ORDER,),
    )


@hand(OPS_PREFIX + "Transpose")
def transpose(facts: Facts) -> Hand:
    axes = facts.get("axes")
    shown = "reversed" if axes is None else _as_written(axes)
    return Hand(settings=line(f"axes {shown}"), formula=f"y = transpose(x, axes={shown})")


@hand(OPS_PREFIX + "ExpandDims", OPS_PREFIX + "Squeeze", OPS_PREFIX + "Flip")
def along_axis(facts: Facts) -> Hand:
    axis = facts.get("axis")
    name = {"ExpandDims": "expand_dims", "Squeeze": "squeeze", "Flip": "flip"}[
        facts.class_name.removeprefix(OPS_PREFIX)
    ]
    return Hand(
        settings=line(f"axis {axis}" if axis is not None else "every axis"),
        formula=f"y = {name}(x, axis={axis})",
        conventions=(AXES_FROM_ZERO,),
    )


@hand(OPS_PREFIX + "Concatenate", OPS_PREFIX + "Stack")
def join(facts: Facts) -> Hand:
    axis = facts.get("axis", 0)
    name = facts.class_name.removeprefix(OPS_PREFIX).lower()
    return Hand(
        settings=line(f"axis {axis}"),
        formula=f"y = {name}([x₁, …, xₙ], axis={axis})",
        conventions=(AXES_FROM_ZERO,),
    )


@hand(OPS_PREFIX + "Tile")
def tile(facts: Facts) -> Hand:
    repeats = facts.get("repeats")
    return Hand(settings=line(f"repeats {repeats}"), formula=f"y = tile(x, {repeats})")


@hand(OPS_PREFIX + "Repeat")
def repeat(facts: Facts) -> Hand:
    repeats, axis = facts.get("repeats"), facts.get("axis")
    return Hand(
        settings=line(f"repeats {repeats}", f"axis {axis}" if axis is not None else "flattened"),
        formula=f"y = repeat(x, {repeats}, axis={axis})",
    )


@hand(OPS_PREFIX + "Pad")
def pad(facts: Facts) -> Hand:
    width, mode = facts.get("pad_width"), facts.get("mode", "constant")
    value = (facts.get("call_kwargs") or {}).get("constant_values")
    filled = f", constant_values={value}" if mode == "constant" and value is not None else ""
    return Hand(
        settings=line(f"pad_width {width}", f"mode {mode}"),
        formula=f"y = pad(x, {width}, mode={mode!r}{filled})",
        conventions=("(before, after) per axis, the batch axis first.",),
    )


@hand(OPS_PREFIX + "Take")
def take(facts: Facts) -> Hand:
    axis = facts.get("axis")
    indices = _call_arg(facts, 1)
    shown = "the indices tensor" if isinstance(indices, dict) else str(indices)
    return Hand(
        settings=line(f"axis {axis}" if axis is not None else "flattened"),
        formula=f"y = take(x, {shown}, axis={axis})",
        conventions=("A negative index counts from the end of the axis.",),
    )


@hand(OPS_PREFIX + "Split")
def split(facts: Facts) -> Hand:
    cut, axis = facts.get("indices_or_sections"), facts.get("axis", 0)
    return Hand(
        settings=line(f"indices_or_sections {cut}", f"axis {axis}"),
        formula=f"y₁, …, yₙ = split(x, {cut}, axis={axis})",
        conventions=("An int cuts equal pieces; a list gives the indices the pieces start at.",),
    )
