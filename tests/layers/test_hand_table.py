"""The hand column of the one table: every registry class has its settings line, formula and
code, its rule lives in the `app/hand` file named like its `app/layers` file, and nothing
names a class the registry does not know."""

from __future__ import annotations

import pytest

from app.hand import HANDS, Facts, Hand
from app.layers.registry import REGISTRY, LayerType
from app.reference import source

ENTRIES = sorted(REGISTRY.items())


def test_hands_and_registry_name_the_same_classes():
    classes = {entry.class_name for entry in REGISTRY.values()}
    assert sorted(classes - set(HANDS)) == [], "a registry class without a hand"
    assert sorted(set(HANDS) - classes) == [], "a hand for a class the registry does not know"


@pytest.mark.parametrize(("name", "entry"), ENTRIES, ids=[n for n, _ in ENTRIES])
def test_every_class_has_its_settings_line_formula_and_code(name: str, entry: LayerType):
    assert entry.hand is HANDS[entry.class_name]
    hand = entry.hand(Facts(class_name=entry.class_name, config={}))
    assert isinstance(hand, Hand)
    assert isinstance(hand.settings, str) and hand.settings.strip(), name
    assert isinstance(hand.formula, str) and hand.formula.strip(), name
    assert all(isinstance(c, str) and c.strip() for c in hand.conventions), name
    code = source.forward_source(entry.class_name)
    binding = source.forward_binding(entry.class_name)  # a factory's: the line that makes it
    assert code.startswith("def ") if binding is None else code == binding.line(), name


@pytest.mark.parametrize(("name", "entry"), ENTRIES, ids=[n for n, _ in ENTRIES])
def test_hand_lives_in_the_file_named_like_the_layers_file(name: str, entry: LayerType):
    assert entry.hand is not None
    assert entry.hand.__module__ == f"app.hand.{entry.source}", name
