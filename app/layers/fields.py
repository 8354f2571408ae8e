"""The types of the config fields a layer class reads: what a value must be, and the words
that say so.

A `Field` reads one value of a layer config: it gives the value back in the form the code
downstream assumes (an integral float `32.0`, which some writers put where Keras has an int,
becomes `32`) or raises `WrongValue` with what was expected. The check at the edge
(`app.safety.layer_fields`) reads every field of every layer once, so no reader, analysis or
forward meets a list where a string belongs.

Which field a key is: the class's own declaration (`register(..., fields={...})`) when it
has one for the key, else `VOCABULARY`, the keys whose meaning is the same in every class
that has them (`units`, `kernel_size`, `epsilon`, `dtype`, ...), else an `*_initializer` is
an `INITIALIZER`; any other key is not read by the explainer and is left as written. A key
whose meaning differs between classes (`padding`: a string for a convolution, amounts for
ZeroPadding2D; `scale`: a flag for BatchNormalization, a number for Rescaling) is in the
vocabulary with its common meaning, and the other classes declare theirs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class WrongValue(Exception):
    """A config value that is not of its field's type or range."""


@dataclass(frozen=True)
class Field:
    """One config field: `expected` says in words what it must be (`a positive integer`)."""

    expected: str
    convert: Callable[[Any], Any]
    nested: bool = False  # a layer config (or a list of them) checked by its own class's fields

    def read(self, value: Any) -> Any:
        """The value in the form downstream code assumes; `WrongValue` when it is not one."""
        return self.convert(numpy_scalar(value))


def numpy_scalar(value: Any) -> Any:
    """A NumPy scalar as its number: tf.keras 2.12 wrote `ReLU(max_value=np.float32(2))` as
    `{"class_name": "__numpy__", "config": {"value": 2.0, "dtype": "float32"}}`, which Keras 3
    reads back as the scalar; an array keeps its marker (its dtype), as does anything else."""
    if not isinstance(value, dict) or value.get("class_name") != "__numpy__":
        return value
    inner = value.get("config")
    number = inner.get("value") if isinstance(inner, dict) else None
    return number if isinstance(number, int | float) else value


def _fail() -> Any:
    raise WrongValue


def _integer(value: Any, low: int | None) -> int:
    if isinstance(value, bool):
        _fail()
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)  # some writers put 32.0 where Keras has 32
    if not isinstance(value, int) or (low is not None and value < low):
        _fail()
    return value


def _number(value: Any, low: float | None = None, high: float | None = None) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        _fail()
    if (low is not None and value < low) or (high is not None and value > high):
        _fail()
    return value


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):  # Keras 1 wrote some flags as 0/1
        return bool(value)
    return _fail()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else _fail()


def optional(field: Field) -> Field:
    """`field`, or null."""
    return Field(
        f"{field.expected}, or null",
        lambda value: None if value is None else field.read(value),
        field.nested,
    )


def integer(low: int | None = None, expected: str = "an integer") -> Field:
    return Field(expected, lambda value: _integer(value, low))


def number(low: float | None = None, high: float | None = None, expected: str = "") -> Field:
    return Field(expected or "a finite number", lambda value: _number(value, low, high))


def choice(*values: str) -> Field:
    def convert(value: Any) -> str:
        return value if isinstance(value, str) and value.lower() in values else _fail()

    return Field("one of " + ", ".join(f'"{v}"' for v in values), convert)


def _sizes(low: int) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, list | tuple):
            if not value:
                _fail()
            return [_integer(item, low) for item in value]
        return _integer(value, low)

    return convert


def _axes(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_integer(item, None) for item in value]
    return _integer(value, None)


def _amounts(value: Any) -> Any:
    """ZeroPadding / Cropping amounts: an int, a list of ints, or a list of pairs."""
    if isinstance(value, list | tuple):
        return [
            _amounts(item) if isinstance(item, list | tuple) else _integer(item, 0)
            for item in value
        ]
    return _integer(value, 0)


def _shape(value: Any) -> list[int | None]:
    if not isinstance(value, list | tuple):
        _fail()
    return [None if dim is None else _integer(dim, 1) for dim in value]


def _shape_tree(value: Any) -> Any:
    """A shape, or a list of shapes (a layer built on several inputs)."""
    if (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(item, list | tuple) or item is None for item in value)
        and any(isinstance(item, list | tuple) for item in value)
    ):
        return [None if item is None else _shape_tree(item) for item in value]
    return _shape(value)


def _target_shape(value: Any) -> list[int]:
    """Reshape's: positive sizes, at most one -1 (inferred)."""
    if not isinstance(value, list | tuple):
        _fail()
    dims = [_integer(dim, -1) for dim in value]
    if 0 in dims or dims.count(-1) > 1:
        _fail()
    return dims


def _dims(value: Any) -> list[int]:
    if not isinstance(value, list | tuple):
        _fail()
    return [_integer(dim, 1) for dim in value]


def _output_shape(value: Any) -> Any:
    """EinsumDense's and MultiHeadAttention's: a size, or a list of sizes or nulls."""
    if isinstance(value, list | tuple):
        return [None if dim is None else _integer(dim, 1) for dim in value]
    return _integer(value, 1)


def _numbers(value: Any) -> Any:
    """A number, or a (nested) list of numbers."""
    if isinstance(value, list | tuple):
        return [_numbers(item) for item in value]
    return _number(value)


# Dtypes ---------------------------------------------------------------------------------

# keras.src.backend.common.dtypes.ALLOWED_DTYPES, and the weak names Keras standardizes.
DTYPES = frozenset({
    "float16", "float32", "float64", "bfloat16", "uint8", "uint16", "uint32", "uint64",
    "int8", "int16", "int32", "int64", "bool", "string", "float8_e4m3fn", "float8_e5m2",
    "complex64", "complex128", "float", "int", "half", "double",
})  # fmt: skip
QUANTIZATION_MODES = ("int8", "float8", "int4", "gptq", "awq")  # keras.src.dtype_policies
# tf.keras 2.x Policy names besides a dtype: the mixed ones, and TF 2.0-2.2's legacy names.
_LEGACY_POLICY = re.compile(r"(_?infer|float\d+|bfloat16)(_with_float32_vars)?")


def is_policy_name(name: str) -> bool:
    """A dtype policy name Keras writes: a dtype, `mixed_float16`, `int8_from_float32`, ..."""
    if name in DTYPES or name in ("mixed_float16", "mixed_bfloat16"):
        return True
    if name.startswith(QUANTIZATION_MODES) and "_from_" in name:
        return is_policy_name(name.split("_from_", 1)[1])
    return _LEGACY_POLICY.fullmatch(name) is not None


def _policy_name(value: Any) -> str:
    return value if isinstance(value, str) and is_policy_name(value) else _fail()


def _dtype_policy(value: Any) -> Any:
    """A dtype name, or a serialized policy `{"class_name": "DTypePolicy", "config":
    {"name": "float32"}}` (Keras 3; tf.keras 2.x writes `Policy`)."""
    if value is None:
        return None
    if isinstance(value, dict):
        if not isinstance(value.get("class_name", ""), str):
            _fail()
        config = value.get("config")
        if config is None:
            return value
        if not isinstance(config, dict):
            _fail()
        if "name" in config and config["name"] is not None:
            _policy_name(config["name"])
        return value
    return _policy_name(value)


# Objects written inside a layer config ---------------------------------------------------


def _number_or_text(value: Any) -> Any:
    return value if isinstance(value, str) else _number(value)


def _object(value: Any) -> Any:
    """A serialized Keras object (activation, initializer, ...): a name, or a dict with a
    string `class_name` and an object, a name (a function reference: `{"class_name":
    "function", "config": "relu"}`, which the allowlist judges) or no `config`."""
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, dict) or not isinstance(value.get("class_name"), str):
        _fail()
    if value.get("config") is not None and not isinstance(value["config"], dict | str):
        _fail()
    return value


# The numbers of an initializer's config that the explainer reads (app.analysis.initializers).
_INITIALIZER_NUMBERS = ("mean", "stddev", "minval", "maxval", "gain", "scale")


def _initializer(value: Any) -> Any:
    value = _object(value)
    config = value.get("config") if isinstance(value, dict) else None
    if isinstance(config, dict):
        for key in _INITIALIZER_NUMBERS:
            if config.get(key) is not None:
                _number(config[key])
        if config.get("value") is not None:
            _numbers(config["value"])
        for key in ("mode", "distribution"):
            if config.get(key) is not None:
                _text(config[key])
    return value


def _layer(value: Any) -> Any:
    if not isinstance(value, dict) or not isinstance(value.get("class_name"), str):
        _fail()
    if not isinstance(value.get("config", {}), dict):
        _fail()
    return value


def _layers(value: Any) -> list[Any]:
    if not isinstance(value, list):
        _fail()
    return [_layer(item) for item in value]


# The fields ------------------------------------------------------------------------------

POSITIVE = integer(1, "a positive integer")
NON_NEGATIVE = integer(0, "a non-negative integer")
INTEGER = integer()
NUMBER = number()
NON_NEGATIVE_NUMBER = number(0, expected="a finite number ≥ 0")
FRACTION = number(0, 1, "a number from 0 to 1")
NUMBERS = Field("a finite number or a list of them", _numbers)
BOOL = Field("true or false", _boolean)
TEXT = Field("a string", _text)
NUMBER_OR_TEXT = Field("a finite number or a string", _number_or_text)
SIZES = Field("a positive integer or a list of them", _sizes(1))
AMOUNTS = Field("a non-negative integer or a list of them", _sizes(0))
PADDING_AMOUNTS = Field("a non-negative integer, a list of them, or a list of pairs", _amounts)
AXES = Field("an integer or a list of integers", _axes)
SHAPE = Field("a list of positive integers or nulls", _shape)
SHAPE_TREE = Field(
    "a shape (a list of positive integers or nulls) or a list of shapes", _shape_tree
)
DIMS = Field("a list of positive integers", _dims)
OUTPUT_SHAPE = Field("a positive integer, or a list of positive integers or nulls", _output_shape)
TARGET_SHAPE = Field("a list of positive integers (one may be -1)", _target_shape)
DTYPE = Field("a Keras dtype or dtype policy (float32, mixed_float16, ...), or null", _dtype_policy)
OBJECT = Field("a name or an object with a `class_name`", _object)
INITIALIZER = Field("an initializer: a name, or an object with finite numbers", _initializer)
LAYER = Field("a layer: an object with a `class_name` and a `config`", _layer, nested=True)
LAYERS = Field("a list of layers (objects with a `class_name`)", _layers, nested=True)
PADDING = choice("valid", "same", "causal", "full")
DIM_ORDERING = choice("tf", "th", "default")  # Keras 1's data_format
DATA_FORMAT = optional(choice("channels_first", "channels_last"))

_FLAGS = (
    "trainable", "use_bias", "center", "return_sequences", "return_state", "go_backwards",
    "stateful", "unroll", "time_major", "reset_after", "unit_forget_bias",
    "zero_output_for_mask", "mask_zero", "keepdims", "use_scale", "use_gate", "rms_scaling",
    "normalize", "invert", "antialias", "crop_to_aspect_ratio", "pad_to_aspect_ratio",
    "return_attention_scores", "use_causal_mask", "sparse", "ragged", "scale",
)  # fmt: skip
_POSITIVE = (
    "units", "filters", "depth_multiplier", "groups", "num_heads", "key_dim",
    "num_query_heads", "num_key_value_heads", "head_dim", "n", "height", "width",
    "output_dim",
)  # fmt: skip

# The keys whose meaning is the same in every class that has them.
VOCABULARY: Mapping[str, Field] = {
    **dict.fromkeys(_FLAGS, BOOL),
    **dict.fromkeys(_POSITIVE, POSITIVE),
    "name": TEXT,
    "dtype": DTYPE,
    "batch_shape": optional(SHAPE),
    "batch_input_shape": optional(SHAPE),
    "input_shape": optional(SHAPE),
    "_build_input_shape": optional(SHAPE_TREE),
    "kernel_size": SIZES,
    "strides": optional(SIZES),
    "dilation_rate": SIZES,
    "pool_size": optional(SIZES),
    "size": SIZES,
    "output_size": SIZES,
    "output_padding": optional(AMOUNTS),
    "value_dim": optional(POSITIVE),
    "input_dim": optional(POSITIVE),  # Keras 1 wrote `null` when unset
    "sliding_window": optional(POSITIVE),
    "input_length": optional(SIZES),
    "padding": PADDING,
    "data_format": DATA_FORMAT,
    "axis": optional(AXES),
    "axes": AXES,
    "attention_axes": optional(AXES),
    "shared_axes": optional(AXES),
    "epsilon": NON_NEGATIVE_NUMBER,
    "momentum": NUMBER,
    "rate": FRACTION,
    "dropout": FRACTION,
    "recurrent_dropout": FRACTION,
    "alpha": NUMBER,
    "negative_slope": NUMBER,
    "threshold": NUMBER,
    "max_value": optional(NUMBER),
    "mask_value": NUMBER,
    "stddev": NON_NEGATIVE_NUMBER,
    "fill_value": NUMBER,
    "offset": NUMBERS,
    "activation": OBJECT,
    "recurrent_activation": OBJECT,
    "merge_mode": optional(TEXT),
    "equation": TEXT,
    "bias_axes": optional(TEXT),
    "score_mode": TEXT,
    "interpolation": TEXT,
    "function": TEXT,
    "query_shape": optional(SHAPE),
    "key_shape": optional(SHAPE),
    "value_shape": optional(SHAPE),
    "layer": LAYER,
    "cell": LAYER,
    "backward_layer": optional(LAYER),
    "cells": LAYERS,
}

# Keras 1's words for the same fields (app.formats.keras1 renames them after the check).
KERAS1_VOCABULARY: Mapping[str, Field] = {
    "nb_filter": POSITIVE,
    "nb_row": POSITIVE,
    "nb_col": POSITIVE,
    "kernel_dim1": POSITIVE,
    "kernel_dim2": POSITIVE,
    "kernel_dim3": POSITIVE,
    "filter_length": SIZES,
    "subsample": SIZES,
    "subsample_length": SIZES,
    "atrous_rate": SIZES,
    "border_mode": PADDING,
    "dim_ordering": DIM_ORDERING,
    "p": FRACTION,
    "dropout_W": FRACTION,
    "dropout_U": FRACTION,
    "inner_activation": OBJECT,
    "init": INITIALIZER,
    "inner_init": INITIALIZER,
    "beta_init": INITIALIZER,
    "gamma_init": INITIALIZER,
}

# What code reads of any layer, a class the explainer does not know included (a custom
# layer's other keys mean what its author chose: they are not checked). `module` and
# `registered_name` sit beside a layer's `class_name`, not in its config.
UNIVERSAL: Mapping[str, Field] = {
    **{
        key: VOCABULARY[key]
        for key in ("name", "trainable", "dtype", "batch_shape", "batch_input_shape",
                    "input_shape", "input_dim", "_build_input_shape")
    },
    "module": optional(TEXT),
    "registered_name": optional(TEXT),
}  # fmt: skip

INITIALIZER_SUFFIX = "_initializer"


def field_of(key: str, declared: Mapping[str, Field]) -> Field | None:
    """The field a config key is for a class that declares `declared`; None: not read."""
    if key in declared:
        return declared[key]
    if key in VOCABULARY:
        return VOCABULARY[key]
    if key in KERAS1_VOCABULARY:
        return KERAS1_VOCABULARY[key]
    if key.endswith(INITIALIZER_SUFFIX):
        return INITIALIZER
    return None
