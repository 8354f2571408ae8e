"""JSON from an untrusted source, parsed under caps: config.json, metadata.json, legacy
`model_config`, and specs.

    size      checked before decoding (`JsonTooLarge`)
    depth     checked on the text before the parser sees it, so `json.loads` never recurses
              into hostile nesting (`JsonTooDeep`)
    memory    the Python objects parsing would make, estimated from the text's containers,
              strings and commas before parsing, within `max_json_objects_bytes`
              (`JsonTooLarge`): a 16 MiB text could otherwise become half a gigabyte
    keys      a key given twice in one object is refused (`DuplicateKeys`): parsers disagree
              on which value wins, so our reading and Keras' could differ
    numbers   NaN, Infinity, floats that overflow to infinity, and integers longer than any
              Keras config needs are refused (`InvalidNumber`); with `non_finite=True` the
              first three are read as floats, for a caller that refuses them itself where
              it can say which array holds them (a diagnosis's `yours`)

Syntax errors are reported with the caller's error class (`InvalidSpec` for a spec,
`MalformedModel` for a file), with the line and column.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

from app.errors import (
    DuplicateKeys,
    ExplainerError,
    InvalidNumber,
    InvalidSpec,
    JsonTooDeep,
    JsonTooLarge,
)
from app.safety.limits import DEFAULT_LIMITS, ReadLimits

# A JSON string literal, written as an unrolled loop so that matching stays linear.
STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
DEPTH_STEPS = np.zeros(256, dtype=np.int8)  # a byte's step of the depth: brackets ±1
DEPTH_STEPS[list(b"[{")], DEPTH_STEPS[list(b"]}")] = 1, -1
DEPTH_BLOCK = 1 << 20  # bytes per block of the depth count
MAX_DIGITS = 40  # seeds and shared_object_ids have at most 20 digits, floats 17
LONG_NUMBER = re.compile(rf"\d{{{MAX_DIGITS + 1},}}")
LONG_ASCII_NUMBER = re.compile(rf"\d{{{MAX_DIGITS + 1},}}", re.ASCII)  # the same, on ASCII
SyntaxErrorClass = type[ExplainerError]


def load_json(
    data: bytes | str,
    *,
    what: str,
    syntax_error: SyntaxErrorClass = InvalidSpec,
    limits: ReadLimits = DEFAULT_LIMITS,
    non_finite: bool = False,
) -> Any:
    """Parse `data` under the caps; `what` names it in messages ("The spec", ...)."""
    text = _as_text(data, what, syntax_error, limits)
    _check_skeleton(_skeleton(text), what, limits)
    try:
        return json.loads(
            text,
            object_pairs_hook=_unique_object,
            parse_constant=float if non_finite else _refuse_constant,
            parse_float=float if non_finite else _finite_float,
        )
    except _Refused as refused:
        raise refused.error(what) from None
    except json.JSONDecodeError as exc:
        raise syntax_error(
            f"{what} is not valid JSON (line {exc.lineno}, column {exc.colno}).",
            details={"line": exc.lineno, "column": exc.colno},
        ) from exc
    except RecursionError as exc:  # unreachable below the depth cap; kept as a last wall
        raise _too_deep(what, limits.max_json_depth) from exc


def check_parsed(obj: Any, *, what: str, limits: ReadLimits = DEFAULT_LIMITS) -> None:
    """The same caps for JSON someone else already parsed (a spec given as an object):
    depth, value count and numbers, walked without recursion. Duplicate keys are gone by then,
    which is why callers should hand over the text when they have it."""
    pending: list[tuple[Any, int]] = [(obj, 1)]
    seen = 0
    while pending:
        value, depth = pending.pop()
        seen += 1
        if seen > limits.max_json_values:
            raise JsonTooLarge(f"{what} holds more values than any Keras config does.")
        if isinstance(value, dict | list) and depth > limits.max_json_depth:
            raise _too_deep(what, limits.max_json_depth)
        pending.extend((child, depth + 1) for child in _children(value, what))


def _children(value: Any, what: str) -> list[Any]:
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise InvalidSpec(f"{what} has an object key that is not a string.")
        return list(value.values())
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise _Refused("number", "NaN or Infinity").error(what)
    if isinstance(value, int) and abs(value) >= 10**MAX_DIGITS:
        raise _Refused("number", f"a number of more than {MAX_DIGITS} digits").error(what)
    return []


def _as_text(
    data: bytes | str, what: str, syntax_error: SyntaxErrorClass, limits: ReadLimits
) -> str:
    if len(data) > limits.max_json_bytes:
        raise JsonTooLarge(
            f"{what} is larger than {limits.max_json_bytes:,} bytes; Keras configs are far "
            "smaller.",
            details={"limit": limits.max_json_bytes},
        )
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise syntax_error(f"{what} is not UTF-8 text.") from exc


def _skeleton(text: str) -> str:
    """`text` with every string literal emptied: what is left is structure and numbers."""
    return STRING.sub('""', text)


def max_depth(text: str) -> int:
    """How deeply arrays and objects nest in JSON `text`, brackets inside strings ignored."""
    return _bracket_depth(_skeleton(text))


def _bracket_depth(skeleton: str) -> int:
    """Linear and without recursion: the running depth is a cumulative sum over the
    skeleton's bytes, +1 at an opening bracket, -1 at a closing one, 0 elsewhere (a
    multi-byte character's bytes are none of them), taken a block at a time (arrays of a
    few MB, however long the text). ResNet50's config: 0.68 → 0.42 ms against dropping every
    other character first."""
    data = skeleton.encode("utf-8", "surrogatepass")
    deepest = level = 0
    for start in range(0, len(data), DEPTH_BLOCK):
        codes = np.frombuffer(data, np.uint8, min(DEPTH_BLOCK, len(data) - start), start)
        running = np.cumsum(DEPTH_STEPS[codes], dtype=np.int32) + level
        deepest, level = max(deepest, int(running.max())), int(running[-1])
    return deepest


def _check_skeleton(skeleton: str, what: str, limits: ReadLimits) -> None:
    """Depth, the memory parsing would take, and integers too long to convert in linear time,
    before `json.loads` runs."""
    estimate = parsed_bytes(skeleton)
    if estimate > limits.max_json_objects_bytes:
        raise JsonTooLarge(
            f"{what} would take about {estimate:,} bytes of memory once parsed; the explainer "
            f"parses at most {limits.max_json_objects_bytes:,} (Keras configs take far less).",
            details={"estimate": estimate, "limit": limits.max_json_objects_bytes},
        )
    if _bracket_depth(skeleton) > limits.max_json_depth:
        raise _too_deep(what, limits.max_json_depth)
    if (LONG_ASCII_NUMBER if skeleton.isascii() else LONG_NUMBER).search(skeleton):
        raise _Refused("number", f"a number of more than {MAX_DIGITS} digits").error(what)


def parsed_bytes(skeleton: str) -> int:
    """An upper estimate of the memory `json.loads` takes for this skeleton (strings emptied):
    CPython's empty list or dict, a short string, and for every value a float and its slot in
    its parent (with the list's over-allocation)."""
    containers = skeleton.count("[") + skeleton.count("{")
    strings = skeleton.count('""')
    return 72 * containers + 64 * strings + 40 * (skeleton.count(",") + 1)


def has_non_finite(obj: Any) -> bool:
    """Whether parsed JSON holds NaN or ±Infinity anywhere (walked without recursion)."""
    pending = [obj]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, float) and not math.isfinite(value):
            return True
    return False


def _too_deep(what: str, limit: int) -> JsonTooDeep:
    return JsonTooDeep(
        f"{what} is nested too deeply (more than {limit} levels); Keras never writes "
        "configs that deep.",
        details={"limit": limit},
    )


class _Refused(Exception):
    """Raised inside the parser's hooks, turned into an `ExplainerError` with its context."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind, self.detail = kind, detail

    def error(self, what: str) -> ExplainerError:
        if self.kind == "key":
            return DuplicateKeys(
                f"{what} gives the key {self.detail} twice in one object; such JSON is "
                "ambiguous and is refused.",
                details={"key": self.detail},
            )
        return InvalidNumber(
            f"{what} holds {self.detail}, which no Keras config contains.",
            details={"number": self.detail},
        )


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Refused("key", _first_duplicate(pairs))
    return obj


def _first_duplicate(pairs: list[tuple[str, Any]]) -> str:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return repr(key[:60])
        seen.add(key)
    return "''"


def _refuse_constant(name: str) -> Any:
    raise _Refused("number", name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("number", "a number too large to be finite")
    return value
