"""One table per layer class: the registry entry holds everything, nothing else lists classes.

The forwards (`app.reference`) and the registry (`app.layers`) must name the same classes,
each entry carries a forward, a mask rule and traits, a class's forward lives in the
`app/reference` file named like the `app/layers` file that registers it, and the allowlist is
the registry's classes (plus the structure a model is built of).
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

import app
from app.graph import CONTAINER_CLASSES
from app.layers.recurrent import RNN_CELLS
from app.layers.registry import REGISTRY, STRUCTURE, LayerType, Traits, allowlist
from app.reference import COMPUTE_MASK, FORWARDS
from app.reference.masking import drops_mask, first_input_mask
from app.safety.allowlist import layer_modules

APP = Path(app.__file__).parent
ENTRIES = sorted(REGISTRY.items())


def test_forwards_and_registry_name_the_same_classes():
    assert sorted(set(FORWARDS) - set(REGISTRY)) == [], "a forward without a registry entry"
    assert sorted(set(REGISTRY) - set(FORWARDS)) == [], "a registry entry without a forward"


@pytest.mark.parametrize(("name", "entry"), ENTRIES, ids=[n for n, _ in ENTRIES])
def test_every_entry_has_its_forward_mask_rule_traits_and_modules(name: str, entry: LayerType):
    assert entry.forward is FORWARDS[name]
    assert callable(entry.mask_rule)
    assert isinstance(entry.traits, Traits)
    assert entry.modules and all(isinstance(m, str) and m for m in entry.modules)


@pytest.mark.parametrize(("name", "entry"), ENTRIES, ids=[n for n, _ in ENTRIES])
def test_a_class_has_one_mask_rule_its_own_or_from_its_traits(name: str, entry: LayerType):
    own = COMPUTE_MASK.get(name)
    if entry.traits.passes_mask:
        assert own is None and entry.mask_rule is first_input_mask
    elif own is not None:
        assert entry.mask_rule is own
    else:
        assert entry.mask_rule is drops_mask


def test_own_mask_rules_are_for_registered_classes_only():
    assert sorted(set(COMPUTE_MASK) - set(REGISTRY)) == []


@pytest.mark.parametrize(("name", "entry"), ENTRIES, ids=[n for n, _ in ENTRIES])
def test_forward_lives_in_the_reference_file_named_like_the_layers_file(name, entry):
    assert importlib.util.find_spec(f"app.layers.{entry.source}") is not None, entry.source
    assert entry.forward.__module__ == f"app.reference.{entry.source}", name


def test_allowlist_is_the_registry_classes_and_the_structure_of_a_model():
    assert set(allowlist()) == set(REGISTRY) | set(STRUCTURE)
    # ConvLSTMCell: the cell a ConvLSTM layer builds for itself (never in a config);
    # AutoContrast, Equalization: built inside AugMix and RandAugment
    built_inside = {"ConvLSTMCell", "AutoContrast", "Equalization"}
    assert {"InputLayer", *CONTAINER_CLASSES, *RNN_CELLS, *built_inside} == set(STRUCTURE)
    for name, entry in REGISTRY.items():
        assert layer_modules(name) == set(entry.modules), name


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_the_reference_never_imports_the_registry():
    """One direction: app.layers reads app.reference, never the other way round."""
    for path in sorted((APP / "reference").glob("*.py")):
        assert not {m for m in _imports(path) if m.startswith("app.layers")}, path.name


def _class_name_collections(path: Path) -> list[tuple[int, list[str]]]:
    """Tuple, list and set literals of two or more strings that are all registered classes."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Tuple | ast.List | ast.Set) and len(node.elts) > 1:
            names = [e.value for e in node.elts if isinstance(e, ast.Constant)]
            if len(names) == len(node.elts) and all(n in REGISTRY for n in names):
                found.append((node.lineno, names))
    return found


def test_no_module_keeps_its_own_set_of_layer_classes():
    """Code that needs "is this class recurrent" asks the registry entry's traits."""
    sources = [p for p in sorted(APP.rglob("*.py")) if p.parent.name != "layers"]
    found = {str(p.relative_to(APP)): _class_name_collections(p) for p in sources}
    assert {path: sets for path, sets in found.items() if sets} == {}


def test_every_registry_class_has_a_cost_rule():
    """Issue 16: a class added without `@cost(...)` in app/costs has no MACs or FLOPs."""
    from app.costs import COSTS

    assert sorted(name for name, entry in REGISTRY.items() if entry.cost is None) == []
    # and no rule names a class the registry does not know (a stale or misspelt rule)
    assert sorted(set(COSTS) - set(REGISTRY)) == []
