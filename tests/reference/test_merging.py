"""Merge layers against Keras."""

from __future__ import annotations

import pytest

from tests.reference.harness import assert_layer_matches_keras, random_inputs

MERGING = [
    ("Add", {}, [(2, 3, 4)] * 3),
    ("Add", {}, [(2, 3, 4), (2, 4)]),
    ("Subtract", {}, [(2, 5)] * 2),
    ("Multiply", {}, [(2, 3, 4)] * 3),
    ("Average", {}, [(2, 5)] * 3),
    ("Maximum", {}, [(2, 5)] * 2),
    ("Minimum", {}, [(2, 2, 5)] * 3),
    ("Concatenate", {}, [(2, 3, 4), (2, 3, 2)]),
    ("Concatenate", {"axis": 1}, [(2, 3, 4), (2, 1, 4), (2, 2, 4)]),
    ("Dot", {"axes": 1}, [(3, 5), (3, 5)]),
    ("Dot", {"axes": 1, "normalize": True}, [(3, 5), (3, 5)]),
    ("Dot", {"axes": (2, 2)}, [(2, 3, 4), (2, 5, 4)]),
    ("Dot", {"axes": (1, 2)}, [(2, 3, 4), (2, 5, 3)]),
    ("Dot", {"axes": -1, "normalize": True}, [(2, 3, 4), (2, 4)]),
]


@pytest.mark.parametrize(
    ("class_name", "config", "shapes"),
    MERGING,
    ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(MERGING)],
)
def test_merge_matches_keras(class_name, config, shapes):
    assert_layer_matches_keras(class_name, config, random_inputs(shapes))
