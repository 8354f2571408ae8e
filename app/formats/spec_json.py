"""Architecture specs: the JSON that `model.to_json()` writes, as an object or a string.

The string may itself be JSON-encoded once more (a spec pasted into a JSON field as a string).
Keras 2 specs carry `keras_version` and `backend` beside `class_name`; Keras 3 specs do not.
A spec has no weights file, so every layer keeps `stored=None`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.errors import InvalidSpec, JsonTooLarge
from app.formats.model_json import ReadResult, graph_from_config
from app.intake.limits import DEFAULT_LIMITS, IntakeLimits
from app.intake.safe_json import check_parsed, load_json

MAX_STRING_LAYERS = 3  # a spec string inside a JSON string, at most this deep
WHAT = "The spec"


def read_spec_path(path: Path, limits: IntakeLimits = DEFAULT_LIMITS) -> ReadResult:
    """A spec saved to a file (UTF-8, with or without a byte-order mark); its size is checked
    before it is read."""
    try:
        with Path(path).open("rb") as fh:
            data = fh.read(limits.max_json_bytes + 1)
    except OSError as exc:
        raise InvalidSpec("The spec file could not be read.") from exc
    if len(data) > limits.max_json_bytes:
        raise JsonTooLarge(
            f"The spec is larger than {limits.max_json_bytes:,} bytes; Keras configs are far "
            "smaller.",
            details={"limit": limits.max_json_bytes},
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidSpec("The spec file is not UTF-8 text.") from exc
    return read_spec_object(text, limits)


def read_spec_object(spec: Any, limits: IntakeLimits = DEFAULT_LIMITS) -> ReadResult:
    """The graph of a spec given as a dict or a JSON string, with its writer's Keras version
    and backend when the spec records them, and the refusals it earns. Hand over the text when
    there is one: duplicate keys can only be seen there."""
    obj = _decode(spec, limits)
    graph, refusals = graph_from_config(obj, spec=True)
    return ReadResult(graph, _text(obj.get("keras_version")), _text(obj.get("backend")), refusals)


def _decode(spec: Any, limits: IntakeLimits) -> dict[str, Any]:
    if not isinstance(spec, str):
        check_parsed(spec, what=WHAT, limits=limits)
    for _ in range(MAX_STRING_LAYERS):
        if not isinstance(spec, str):
            break
        spec = load_json(spec, what=WHAT, syntax_error=InvalidSpec, limits=limits)
    if not isinstance(spec, dict):
        raise InvalidSpec(
            "The spec must be a JSON object, the one model.to_json() writes "
            '(`{"class_name": "Sequential", "config": ...}`).'
        )
    return spec


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
