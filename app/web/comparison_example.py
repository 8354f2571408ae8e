"""The OpenAPI example of a comparison, computed by the explainer itself from two small specs:
`Input((4,)) → Dense(3, relu) → BatchNormalization()` (app.web.examples), and the same with
the Dense's activation `tanh` and a Dense(2) head added. Specs hold no weights: the weights
are `not-stored`."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from app.analysis.resolve import resolve
from app.compare.build import SideModel, compare_models
from app.formats import read_spec
from app.schemas import Source
from app.web.examples import SPEC_EXAMPLE


def _edited() -> dict[str, Any]:
    spec = copy.deepcopy(SPEC_EXAMPLE)
    layers = spec["config"]["layers"]
    layers[1]["config"]["activation"] = "tanh"
    layers.append({"class_name": "Dense", "config": {"name": "head", "units": 2}})
    return spec


def _side(spec: dict[str, Any], name: str) -> SideModel:
    loaded = read_spec(spec)
    resolve(loaded.graph, weights_in_file=False)
    text = json.dumps(spec, sort_keys=True).encode()
    source = Source(
        format="spec_json",
        sha256=hashlib.sha256(text).hexdigest(),
        size=len(text),
        keras_version=None,
        backend=None,
        filename=name,
    )
    return SideModel(loaded, source)


def comparison_example() -> dict[str, Any]:
    comparison = compare_models(
        _side(SPEC_EXAMPLE, "before.json"),
        _side(_edited(), "after.json"),
        "5c1d2e3f4a5b46c7d8e9f0a1b2c3d4e5",
    )
    return comparison.model_dump(mode="json")


COMPARISON_EXAMPLE = comparison_example()
