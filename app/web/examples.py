"""Examples for the OpenAPI document, computed by the explainer itself from a small spec.

`Input((4,)) → Dense(3, relu) → BatchNormalization()`: Dense 4 × 3 + 3 = 15, BN 4 × 3 = 12
(6 non-trainable); total 27.
"""

from __future__ import annotations

from typing import Any

from app.explain import explain_spec

SPEC_EXAMPLE: dict[str, Any] = {
    "class_name": "Sequential",
    "config": {
        "name": "example",
        "layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None, 4], "name": "input"}},
            {"class_name": "Dense", "config": {"name": "dense", "units": 3, "activation": "relu"}},
            {"class_name": "BatchNormalization", "config": {"name": "batch_normalization"}},
        ],
    },
}


def _report_example() -> dict[str, Any]:
    report = explain_spec(SPEC_EXAMPLE).report.model_dump(mode="json")
    report["id"] = "3f2a9c4e5b6d47a8b9c0d1e2f3a4b5c6"
    return report


REPORT_EXAMPLE = _report_example()
