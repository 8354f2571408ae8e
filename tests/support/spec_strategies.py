"""Hypothesis strategies of specs (`model.to_json()`), valid and mutated, for the property
tests (tests/safety/test_spec_properties.py) and bench/fuzz_specs.py.

Seeds are specs Keras itself wrote (the writer matrix: tests/writers/files, one spec per
battery model and writer), which between them hold every class of the registry but its
aliases. A case is a seed with edits at random layers (nested layers, initializers and dtype
policies included):

- `redraw`: a field the layer's class declares (`app.layers.fields`) given another value of
  its type and range: the spec stays well typed, though not always a model Keras could build
  (a kernel wider than its input);
- `retype`: a field given a value of another type or out of range (a list for `class_name`,
  `"1e-3x"` for `epsilon`, -1 for `filters`, `"(-1,)f4"` for `dtype`);
- `drop`: a key removed; `add`: a key the registry knows added with a hostile value.

The property (`answer_is_clean`): the answer is 200/201, or a 4xx with a stable `code`;
never a 5xx, never an exception out of the app.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from app.layers import fields as f
from app.layers.math_operations import NORM_ORDER
from app.layers.registry import allowlist, fields_of

WRITER_FILES = Path(__file__).resolve().parents[1] / "writers" / "files"
# The first and last Keras 3, a tf.keras and a tf_keras: their spellings of the same models.
SEED_WRITERS = ("keras-3.15.1", "keras-3.0.5", "tf.keras-2.12", "tf_keras-2.21")

# Values of the wrong type or range for a field of any kind.
HOSTILE = (
    [], ["a"], {}, {"a": 1}, "1e-3x", "", 1.5, -1, 0, 10**12, -(10**12), None, True, False,
    "(-1,)f4", "V0", "V8", "O", "<f4", [1.5], [-1, 3], [None, -4], [[1]], 1e308, -0.0,
    "nan", "float32", "relu", [0], [2**40, 2**40], {"class_name": ["x"]},
    {"class_name": "DTypePolicy", "config": 1.5},
    {"class_name": "Constant", "config": {"value": "x"}},
)  # fmt: skip

hostile_values = st.one_of(
    st.sampled_from(HOSTILE),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.lists(st.integers(min_value=-4, max_value=4), max_size=4),
)


_shape = st.lists(st.one_of(st.none(), st.integers(1, 6)), min_size=1, max_size=4)


def _sizes(low: int) -> st.SearchStrategy:
    one = st.integers(min_value=low, max_value=4)
    return st.one_of(one, st.lists(one, min_size=1, max_size=3))


# A valid value for each field type (small, so that a redrawn spec stays cheap to explain).
_VALID: dict[f.Field, st.SearchStrategy] = {
    f.POSITIVE: st.integers(min_value=1, max_value=8),
    f.NON_NEGATIVE: st.integers(min_value=0, max_value=4),
    f.INTEGER: st.integers(min_value=-3, max_value=3),
    f.NUMBER: st.floats(min_value=-10, max_value=10),
    f.NON_NEGATIVE_NUMBER: st.floats(min_value=0, max_value=1),
    f.FRACTION: st.floats(min_value=0, max_value=1),
    f.NUMBERS: st.floats(min_value=-10, max_value=10),
    f.BOOL: st.booleans(),
    f.TEXT: st.text(alphabet="abcxyz_", min_size=1, max_size=8),
    f.NUMBER_OR_TEXT: st.one_of(st.integers(-3, 3), st.sampled_from(["", "a"])),
    f.SIZES: _sizes(1),
    f.AMOUNTS: _sizes(0),
    f.PADDING_AMOUNTS: _sizes(0),
    f.AXES: st.one_of(st.integers(-3, 3), st.lists(st.integers(-3, 3), min_size=1, max_size=2)),
    f.SHAPE: _shape,
    f.SHAPE_TREE: st.one_of(_shape, st.lists(_shape, min_size=1, max_size=2)),
    f.OBJECT: st.sampled_from([None, "relu", "linear", "sigmoid", {"class_name": "ReLU"}]),
    f.INITIALIZER: st.one_of(
        st.sampled_from(["zeros", "ones", "glorot_uniform"]),
        st.builds(
            lambda value: {"class_name": "Constant", "config": {"value": value}},
            st.floats(-2, 2),
        ),
        st.builds(
            lambda mean, stddev: {
                "class_name": "RandomNormal",
                "config": {"mean": mean, "stddev": stddev},
            },
            st.floats(-1, 1),
            st.floats(0, 1),
        ),
    ),
    f.DIM_ORDERING: st.sampled_from(["tf", "th", "default"]),
    f.DIMS: st.permutations([1, 2]),
    f.TARGET_SHAPE: st.lists(st.integers(1, 6), min_size=1, max_size=3),
    f.OUTPUT_SHAPE: st.integers(1, 6),
    f.DTYPE: st.sampled_from(["float32", "float16", "mixed_float16", "bfloat16", None]),
    f.PADDING: st.sampled_from(["valid", "same"]),
    f.DATA_FORMAT: st.sampled_from(["channels_last", "channels_first", None]),
    NORM_ORDER: st.one_of(st.sampled_from(["fro", "nuc"]), st.integers(-2, 3)),
}


OR_NULL = ", or null"


def valid_values(field: f.Field | None) -> st.SearchStrategy | None:
    """Values of `field`'s type and range (None: a field without a strategy here)."""
    if field is None or field in _VALID:
        return None if field is None else _VALID[field]
    if field.expected.endswith(OR_NULL):  # optional(x): x's values, or null
        base = valid_values(_BY_EXPECTED.get(field.expected.removesuffix(OR_NULL)))
        return None if base is None else st.one_of(st.none(), base)
    return None


_BY_EXPECTED = {field.expected: field for field in _VALID}


@cache
def seed_specs() -> tuple[str, ...]:
    """The writer matrix's specs of the seed writers, as JSON text (parsed per case)."""
    texts = []
    for writer in SEED_WRITERS:
        for path in sorted((WRITER_FILES / writer).glob("*.json")):
            text = path.read_text()
            if "config" in json.loads(text):  # not the writer's manifest, nor its numbers
                texts.append(text)
    return tuple(texts)


def objects(tree: Any) -> list[dict]:
    """Every object with a string `class_name` and an object `config`, iteratively."""
    found, stack = [], [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("class_name"), str) and isinstance(item.get("config"), dict):
                found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def field_for(class_name: str, key: str) -> f.Field | None:
    """The field of a key of a layer the registry knows (None for other objects: a dtype
    policy's or an initializer's `config` are read as parts of a layer's field)."""
    return f.field_of(key, fields_of(class_name)) if class_name in allowlist() else None


KNOWN_KEYS = tuple(sorted({*f.VOCABULARY, *f.KERAS1_VOCABULARY, "class_name", "module"}))


def _fresh(value: Any) -> Any:
    """A drawn hostile value the spec may own: sampled_from hands back its own dicts and
    lists, which a later edit would change in place (hypothesis then saw its strategy draw
    differently: FlakyStrategyDefinition in a 30-minute bench/fuzz_specs.py run)."""
    return copy.deepcopy(value)


@st.composite
def edit(draw: st.DrawFn, spec: Any) -> str:
    """One edit of the spec in place; its description."""
    found = objects(spec)
    if not found:  # an earlier edit took every config away
        return "none"
    target = draw(st.sampled_from(found))
    kind = draw(st.sampled_from(("redraw", "retype", "retype", "drop", "add", "outer")))
    config = target["config"]
    if kind == "outer":  # the object's own keys: class_name, module, config, name
        key = draw(st.sampled_from(("class_name", "module", "config", "name", "registered_name")))
        target[key] = _fresh(draw(hostile_values))
        return f"{kind} {key}"
    keys = sorted(config)
    if kind == "add" or not keys:
        key = draw(st.sampled_from(KNOWN_KEYS))
        config[key] = _fresh(draw(hostile_values))
        return f"add {key}"
    key = draw(st.sampled_from(keys))
    if kind == "drop":
        del config[key]
        return f"drop {target['class_name']}.{key}"
    valid = valid_values(field_for(target["class_name"], key))
    if kind == "redraw" and valid is not None:
        config[key] = draw(valid)
    else:
        config[key] = _fresh(draw(hostile_values))
    return f"{kind} {target['class_name']}.{key}"


@st.composite
def seeds(draw: st.DrawFn) -> Any:
    """A valid spec Keras wrote (parsed afresh: edits never reach the cache)."""
    return json.loads(draw(st.sampled_from(seed_specs())))


@st.composite
def mutated_specs(draw: st.DrawFn, max_edits: int = 3) -> tuple[Any, list[str]]:
    """A seed with one to `max_edits` edits, and what they were."""
    spec = draw(seeds())
    edits = [draw(edit(spec)) for _ in range(draw(st.integers(1, max_edits)))]
    return spec, edits


@st.composite
def redrawn_specs(draw: st.DrawFn) -> tuple[Any, list[str]]:
    """A seed whose declared fields at one to three layers are redrawn within their types:
    well typed, so never refused as `invalid-spec`, whatever else a model it makes."""
    spec = draw(seeds())
    done = []
    for _ in range(draw(st.integers(1, 3))):
        target = draw(st.sampled_from(objects(spec)))
        strategies = {
            key: valid_values(field_for(target["class_name"], key)) for key in target["config"]
        }
        typed = sorted(key for key, values in strategies.items() if values is not None)
        if typed:
            key = draw(st.sampled_from(typed))
            target["config"][key] = draw(strategies[key])
            done.append(f"redraw {target['class_name']}.{key}")
    return spec, done


def copy_spec(spec: Any) -> Any:
    return copy.deepcopy(spec)
