"""The scan of a spec, the JSON that `model.to_json()` writes: given as an object, a string
(itself JSON-encoded once more when pasted into a JSON field as a string), or a file (UTF-8,
with or without a byte-order mark). Parsed under the JSON caps (`safe_json`), then scanned.
Keras 2 specs carry `keras_version` and `backend` beside `class_name`; Keras 3 specs do not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.errors import InvalidSpec, JsonTooLarge
from app.safety.limits import DEFAULT_LIMITS, ReadLimits
from app.safety.safe_json import check_parsed, load_json
from app.safety.scanned import ScannedSpec, scan_config
from app.safety.spec_wrappers import MAX_STRING_LAYERS, unwrap_spec

SPEC = "The spec"


def scan_spec(spec: Any, limits: ReadLimits = DEFAULT_LIMITS) -> ScannedSpec:
    """A spec given as a dict or a JSON string. Hand over the text when there is one:
    duplicate keys can only be seen there."""
    found = unwrap_spec(_decode_spec(spec, limits))
    model = found.model
    return ScannedSpec(
        scan_config(model),
        found.keras_version,
        found.backend,
        compile_settings=isinstance(model, dict) and bool(model.get("compile_config")),
        wrapper=found.wrapper,
    )


def scan_spec_file(path: Path, limits: ReadLimits) -> ScannedSpec:
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
    return scan_spec(text, limits)


def _decode_spec(spec: Any, limits: ReadLimits) -> dict[str, Any]:
    """The spec object; a string may itself be JSON-encoded once more (a spec pasted into a
    JSON field as a string)."""
    if not isinstance(spec, str):
        check_parsed(spec, what=SPEC, limits=limits)
    for _ in range(MAX_STRING_LAYERS):
        if not isinstance(spec, str):
            break
        spec = load_json(spec, what=SPEC, syntax_error=InvalidSpec, limits=limits)
    if not isinstance(spec, dict):
        raise InvalidSpec(
            "The spec must be a JSON object, the one model.to_json() writes "
            '(`{"class_name": "Sequential", "config": ...}`).'
        )
    return spec
