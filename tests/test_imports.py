"""Dependencies point one way: no module of `app` imports one of a higher layer (the layer
order is bench/trace_request.py's LAYERS), none takes part in an import cycle, and the
analyses never import the check."""

from __future__ import annotations

from bench.trace_request import (
    APP,
    RANK,
    ROOT,
    import_cycles,
    import_graph,
    module_name,
    part_of,
    upward_imports,
)


def test_the_import_walk_sees_the_imports_of_a_module_and_its_deferred_ones():
    """The walk is what the other tests read: it must find what the files say."""
    edges = import_graph()
    assert {"explain", "check.admission", "store"} <= edges["reports"]
    assert "check.runner" in edges["check.admission"]
    # `from app.reference import activations` names the submodule, not the package.
    assert "reference.activations" in edges["reference.core"]
    assert "reference" not in edges["reference.core"]


def test_every_part_of_app_has_a_layer():
    parts = {part_of(name) for name in import_graph()}
    assert parts - set(RANK) == set()


def test_no_module_of_app_takes_part_in_an_import_cycle():
    assert import_cycles(import_graph()) == []


def test_import_cycles_are_found_through_other_modules():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert import_cycles(graph) == [["a", "b", "c"]]


def test_no_module_imports_one_of_a_higher_layer():
    assert upward_imports(import_graph()) == []


def test_an_import_from_a_lower_layer_is_seen_as_upward():
    assert upward_imports({"analysis.report": {"check.plan", "graph"}}) == [
        ("analysis.report", "check.plan")
    ]


def test_analysis_never_imports_the_check():
    edges = import_graph()
    analysis = {name: targets for name, targets in edges.items() if part_of(name) == "analysis"}
    assert analysis  # the package is there
    checks = {(a, b) for a, targets in analysis.items() for b in targets if part_of(b) == "check"}
    assert checks == set()


def test_a_module_is_named_by_its_file():
    assert module_name(APP / "check" / "admission.py") == "check.admission"
    assert module_name(APP / "check" / "__init__.py") == "check"
    assert module_name(APP / "__init__.py") == "app"
    assert module_name(ROOT / "bench" / "trace_request.py") is None
