"""Architecture specs: the JSON that `model.to_json()` writes, as an object or a string.

The string may itself be JSON-encoded once more (a spec pasted into a JSON field as a string).
Keras 2 specs carry `keras_version` and `backend` beside `class_name`; Keras 3 specs do not.
A spec has no weights file, so every layer keeps `stored=None`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.errors import InvalidSpec
from app.formats.config import parse_model
from app.graph import ModelGraph

MAX_STRING_LAYERS = 3  # a spec string inside a JSON string, at most this deep
READ_ERRORS = (OSError, UnicodeDecodeError)


def read_spec_path(path: Path) -> tuple[ModelGraph, str | None, str | None]:
    """A spec saved to a file (UTF-8, with or without a byte-order mark)."""
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except READ_ERRORS as exc:
        raise InvalidSpec("The spec file is not UTF-8 text.") from exc
    return read_spec_object(text)


def read_spec_object(spec: Any) -> tuple[ModelGraph, str | None, str | None]:
    """The graph of a spec given as a dict or a JSON string, with its writer's Keras version
    and backend when the spec records them."""
    obj = _decode(spec)
    graph = parse_model(obj)
    return graph, _text(obj.get("keras_version")), _text(obj.get("backend"))


def _decode(spec: Any) -> dict[str, Any]:
    for _ in range(MAX_STRING_LAYERS):
        if not isinstance(spec, str):
            break
        spec = _loads(spec)
    if not isinstance(spec, dict):
        raise InvalidSpec(
            "The spec must be a JSON object, the one model.to_json() writes "
            '(`{"class_name": "Sequential", "config": ...}`).'
        )
    return spec


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidSpec(
            f"The spec is not valid JSON (line {exc.lineno}, column {exc.colno})."
        ) from exc
    except RecursionError as exc:
        raise InvalidSpec("The spec is nested too deeply to be a model config.") from exc


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
