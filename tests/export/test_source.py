"""The exported program's functions are the reference's own text (one implementation), and
the program imports nothing but NumPy and the standard library."""

from __future__ import annotations

import ast
import inspect
import json
import sys

import numpy as np
import pytest

from app.analysis.reference import materialize_weights
from app.analysis.resolve import resolve
from app.errors import ExportUnavailable, UnsupportedModel
from app.export import bundle, program
from app.export.program import program_text
from app.formats import read_spec
from app.layers.registry import REGISTRY
from app.reference import array_operations, math_operations, op_layers, operations, source
from app.reference.forwards import FORWARDS
from app.reference.source import definitions

SEED_SPEC = {
    "class_name": "Sequential",
    "config": {
        "name": "seed",
        "layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None, 2], "name": "x"}},
            {"class_name": "BatchNormalization", "config": {"name": "bn", "axis": 1}},
        ],
    },
}


# The op layers of tf.keras 2 and Keras 3's operations never meet in one model, and define
# the same helper names: each program is assembled without one of them.
EXCLUDED = {
    "op_layers": [op_layers],
    "operations": [operations, array_operations, math_operations],
}


def every_class_function(excluded_modules) -> list:
    """Every registry class's forward and mask rule, but those of `excluded_modules`."""
    excluded = {module.__name__ for module in excluded_modules}
    found: dict[int, object] = {}
    for entry in REGISTRY.values():
        for fn in (entry.forward, entry.mask_rule):
            if fn is not None and fn.__module__ not in excluded:
                found.setdefault(id(fn), fn)
    return [fn for fn in found.values() if "<locals>" not in fn.__qualname__]


@pytest.mark.parametrize("excluded", sorted(EXCLUDED))
def test_every_copied_definition_is_the_reference_text(excluded):
    assembly = definitions(every_class_function(EXCLUDED[excluded]))
    for definition in assembly.definitions:
        source = inspect.getsource(sys.modules[definition.module])
        assert definition.text in source, (definition.module, definition.name)
        assert "@forward" not in definition.text and "@compute_mask" not in definition.text


def test_a_forward_in_the_program_is_inspect_getsource_without_its_registration():
    fn = FORWARDS["BatchNormalization"]
    program = program_text(seed_graph(), 1e-4, "seed")
    expected = inspect.getsource(fn).split("\n", 1)[1]  # `@forward(...)` is the first line
    assert expected.startswith("def batch_normalization(")
    assert expected in program


@pytest.mark.parametrize("excluded", sorted(EXCLUDED))
def test_every_class_function_assembles_into_a_module_importing_numpy_and_stdlib(excluded):
    assembly = definitions(every_class_function(EXCLUDED[excluded]))
    text = "from __future__ import annotations\n" + assembly.text()
    imported = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) - {"__future__"} == {"numpy"}
    namespace: dict = {}
    exec(compile(text, "<assembled>", "exec"), namespace)  # it defines without error
    assert "batch_normalization" in namespace and "dense" in namespace


def seed_graph():
    with read_spec(json.dumps(SEED_SPEC)) as loaded:
        graph = loaded.graph
        resolve(graph, weights_in_file=False)
    return graph


def test_a_class_with_no_forward_is_named(monkeypatch):
    monkeypatch.delitem(FORWARDS, "BatchNormalization")
    with pytest.raises(UnsupportedModel) as raised:
        program_text(seed_graph(), 1e-4, "seed")
    assert "BatchNormalization" in raised.value.message
    assert raised.value.details == {"class_names": ["BatchNormalization"]}


def test_the_seed_program_computes_x_over_sqrt_1001_in_this_process():
    graph = seed_graph()
    namespace: dict = {"__name__": "model_forward"}
    exec(compile(program_text(graph, 1e-4, "seed"), "model_forward.py", "exec"), namespace)
    weights = {
        f"bn/{w.role}": value
        for w, value in zip(graph.layer("bn").weights, materialize_weights(graph), strict=True)
    }
    [out] = namespace["forward"]([np.array([[0, 1], [2, 3]], dtype="float32")], weights)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0, 0.9995004], [1.9990008, 2.9985013]], atol=1e-7)


def test_weights_over_the_export_cap_are_refused_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle, "MAX_WEIGHT_BYTES", 15)  # the seed BN: 4 × 2 float32 = 32 B
    graph = seed_graph()
    with pytest.raises(ExportUnavailable) as raised:
        bundle.write_program(
            tmp_path / "out", graph, materialize_weights(graph), [np.zeros((1, 2), "float32")],
            seeded_weights=True, tolerance=1e-4,
        )  # fmt: skip
    assert raised.value.details == {"weight_bytes": 32, "max_weight_bytes": 15}
    assert not (tmp_path / "out").exists()


def program_definitions(class_name: str) -> str:
    """What a program holds for the class's forward: the definitions it copies (the forward,
    or the factory that makes it, and what it uses), and the line that makes a factory's."""
    callables = program._callables([class_name])
    bindings = [f"{name} = {call}" for name, call in callables.bindings.items()]
    return "\n\n\n".join([definitions(callables.objects).text(), *bindings])


@pytest.mark.parametrize("class_name", sorted(FORWARDS))
def test_the_page_shows_the_text_the_program_holds(class_name):
    """One text per definition: the report's code for a layer (its forward, or the line that
    makes a factory's: ops.Add, RandomFlip) and each helper it names are the exported
    program's text."""
    held = program_definitions(class_name)
    assert source.forward_source(class_name).rstrip("\n") in held
    for name in source.all_helper_names(class_name):
        assert source.helper_source(name).rstrip("\n") in held, name


def test_a_factory_made_forward_is_the_line_that_makes_it_on_the_page_and_in_the_program():
    assert source.forward_source("ops.Add") == "ops_add_forward = _binary('Add')"
    assert source.function_name("ops.Add") == "operations.ops_add_forward"
    assert source.all_helper_names("ops.Add")[-1] == "operations._binary"
    assert source.helper_source("operations._binary").startswith("def _binary(name: str):")
    assert program_definitions("ops.Add").endswith("\nops_add_forward = _binary('Add')")
