"""The source text of the reference forwards: what the report shows as a layer's code and
what the standalone export copies, so both are the reference itself, never a second copy.

`forward_source("Dense")` is the text of the function registered with `@forward("Dense")`,
read with `inspect` from its module and without its registration decorator (the text runs
on its own once its helpers are defined). `helper_names("Dense")` names the functions and
classes of `app.reference` that it uses directly (`activations.apply_activation`,
`forwards.weight`, ...); `all_helper_names` follows them to the end, callees first, so the
helpers can be written out in that order; `helper_source` gives each one's text.

A name is `module.function`, the module relative to `app.reference`.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
import types
from collections.abc import Callable
from functools import cache
from typing import Any

from app.errors import UnsupportedModel
from app.reference import FORWARDS

PACKAGE = "app.reference"
# The decorators that put a function in a table (the forwards, mask rules, activations).
REGISTRY_DECORATORS = frozenset({"forward", "compute_mask", "activation"})


def forward_function(class_name: str) -> Callable[..., Any]:
    """The function registered with `@forward(class_name)`."""
    fn = FORWARDS.get(class_name)
    if fn is None:
        raise UnsupportedModel(
            f"There is no reference forward for layer class {class_name}.",
            {"class_name": class_name},
        )
    return fn


def function_name(class_name: str) -> str:
    """`core.dense`: the module (inside `app.reference`) and name of the registered forward."""
    fn = forward_function(class_name)
    return f"{fn.__module__.removeprefix(PACKAGE + '.')}.{fn.__name__}"


@cache
def forward_source(class_name: str) -> str:
    """The text of `class_name`'s reference forward, from `def` to its last line."""
    return object_source(forward_function(class_name))


def helper_names(class_name: str) -> list[str]:
    """The `app.reference` functions and classes the forward of `class_name` uses directly."""
    return direct_helpers(forward_function(class_name))


def all_helper_names(class_name: str) -> list[str]:
    """Every helper the forward of `class_name` needs, transitively; callees before callers."""
    return list(_all_helper_names(class_name))


@cache
def _all_helper_names(class_name: str) -> tuple[str, ...]:
    order: list[str] = []
    visit(forward_function(class_name), order, set())
    return tuple(order)


@cache
def helper_source(name: str) -> str:
    """The text of the helper `module.function` (a name from `helper_names`)."""
    return object_source(helper_object(name))


def helper_object(name: str) -> Any:
    """The function or class named `module.function` inside `app.reference`."""
    module_name, _, attr = name.rpartition(".")
    module = sys.modules[f"{PACKAGE}.{module_name}"]  # importing app.reference imported it
    return getattr(module, attr)


def object_source(obj: Any) -> str:
    """The source of a function or class as written, its registry decorators left out
    (`@forward(...)`: a registration, not the function); any other (`@dataclass`) stays, as
    part of what the object is. The exported program holds the same text."""
    text = textwrap.dedent(inspect.getsource(obj))
    node = ast.parse(text).body[0]
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        raise TypeError(f"{obj!r} is not a function or class")
    kept = [d for d in node.decorator_list if not is_registry(d)]
    start = min([node.lineno, *(d.lineno for d in kept)])
    lines = text.splitlines(keepends=True)
    return "".join(lines[start - 1 :])


def is_registry(decorator: ast.expr) -> bool:
    """`@forward(...)`, `@compute_mask(...)`, `@activation(...)`: entering a table."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Name) and target.id in REGISTRY_DECORATORS


def direct_helpers(obj: Any) -> list[str]:
    """Names (`module.function`) of the `app.reference` objects that `obj`'s body refers to."""
    scope = object_globals(obj)
    found: list[str] = []
    for node in in_reading_order(ast.parse(object_source(obj))):
        name = referenced_helper(node, scope)
        if name is not None and name not in found and helper_object(name) is not obj:
            found.append(name)
    return found


def in_reading_order(tree: ast.AST) -> list[ast.AST]:
    """The nodes of `tree` in the order they appear in the text (ast.walk is breadth-first)."""
    nodes = [node for node in ast.walk(tree) if hasattr(node, "lineno")]
    return sorted(nodes, key=lambda node: (node.lineno, node.col_offset))


def object_globals(obj: Any) -> dict[str, Any]:
    """The module namespace the names in `obj`'s body are looked up in."""
    module = inspect.getmodule(obj)
    return vars(module) if module is not None else {}


def referenced_helper(node: ast.AST, scope: dict[str, Any]) -> str | None:
    """The helper a name (`weight`) or module attribute (`activations.relu`) refers to."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        return reference_name(scope.get(node.id))
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        module = scope.get(node.value.id)
        if isinstance(module, types.ModuleType) and module.__name__.startswith(PACKAGE + "."):
            return reference_name(getattr(module, node.attr, None))
    return None


def reference_name(obj: Any) -> str | None:
    """`module.function` when `obj` is a function or class defined in `app.reference`."""
    if not (inspect.isfunction(obj) or inspect.isclass(obj)):
        return None
    module = getattr(obj, "__module__", "") or ""
    if not module.startswith(PACKAGE + ".") or module == __name__:
        return None
    return f"{module[len(PACKAGE) + 1 :]}.{obj.__qualname__}"


def visit(obj: Any, order: list[str], seen: set[str]) -> None:
    """Depth-first walk of the helpers of `obj`, appending each after its own helpers."""
    for name in direct_helpers(obj):
        if name in seen:
            continue
        seen.add(name)
        visit(helper_object(name), order, seen)
        order.append(name)
