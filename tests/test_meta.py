"""Meta-tests that keep the tables honest."""

from __future__ import annotations

import re
from pathlib import Path

from app.check import CHECK_CODES
from app.config import Settings
from app.errors import all_error_classes
from app.layers.registry import REGISTRY, known_classes
from app.safety.refusals import REFUSAL_CODES

KEBAB = re.compile(r"^[a-z]+(-[a-z]+)*$")


def test_every_registry_entry_has_summary_weights_and_output_shape():
    known_classes()
    assert REGISTRY, "no layer class registered"
    for name, entry in REGISTRY.items():
        assert entry.summary.strip(), name
        assert callable(entry.weights), name
        assert callable(entry.output_shape), name
        assert entry.family, name


def test_registry_never_allows_code_bearing_classes():
    for forbidden in ("Lambda", "TFSMLayer", "TorchModuleWrapper", "function"):
        assert forbidden not in known_classes()


def test_every_error_class_has_a_kebab_code_and_a_4xx_or_5xx_status():
    codes = {}
    for cls in all_error_classes():
        assert KEBAB.match(cls.code), cls
        assert 400 <= cls.status < 600, cls
        assert cls.code not in codes, f"{cls} reuses the code of {codes.get(cls.code)}"
        codes[cls.code] = cls


README = Path(__file__).resolve().parents[1] / "README.md"
HTTP_CODES = ("not-found", "method-not-allowed", "internal-error")


def test_readme_lists_every_error_check_and_refusal_code():
    text = README.read_text()
    codes = {cls.code for cls in all_error_classes()} - {"internal-error", "not-found"}
    codes |= set(HTTP_CODES) | set(CHECK_CODES) | set(REFUSAL_CODES)
    codes -= {"bad-request", "unprocessable", "conflict"}  # abstract bases, never raised as such
    assert sorted(c for c in codes if f"`{c}`" not in text) == []


def test_readme_lists_every_setting():
    text = README.read_text()
    missing = [n for n in Settings.model_fields if f"`KEX_{n.upper()}`" not in text]
    assert missing == []
