"""The reference's own source text: what the report shows as a layer's code and what the
exported program copies, so both are the reference itself, never a second copy.

    definition_text(obj) -> str          one function, class or constant as its module's file
                                         writes it, registry decorators (`@forward(...)`,
                                         `@compute_mask(...)`, `@activation(...)`) left out
    definitions(objects) -> Assembly     the text of every definition these functions use,
                                         each after what it uses: the program's module
    forward_source(class_name) -> str    the code of a class's forward, as the page shows it
    all_helper_names(class_name)         the definitions that code uses, callees first,
                                         `module.name`; `helper_source(name)` gives each text

One walk over the source serves both (`definitions`): each definition is cut from its
module's file exactly as written there (`ast` line numbers over `inspect.getsource` of the
module), so a fix to `app/reference` is a fix to every page and program after it. Only the
imports are rewritten when assembling a program:

- `from app.reference.forwards import weight` (any `app.*` module): the definition of
  `weight` is copied in, under the same name, and what it uses, recursively;
- `from app.reference import activations` used as `activations.apply_activation`: the
  function is copied, and a namespace `activations = SimpleNamespace(apply_activation=...)`
  keeps the call's text as it is;
- `import numpy as np`, `from collections.abc import Mapping` (anything outside `app`):
  the import line itself;
- the registry decorators are dropped: they register into the service's tables; the tables
  the copied code reads (`FORWARDS`, which `run_layer` reads; `ACTIVATIONS`, which
  `get_activation` reads) are filled explicitly by the program (app.export.program).

A forward a factory makes (`ops.Add`: `_binary("Add")`, `augmentation("RandomFlip")`) is,
on the page as in the program, the line that makes it (`ops_add_forward = _binary('Add')`),
and the factory is one of its helpers (`forward_binding`).

Two definitions of the same name in different modules cannot share one flat module: that is
a `NameClash`, a bug of ours that the tests over every registry class would show.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any

from app.ast_guard import AST_LOCK
from app.errors import UnsupportedModel
from app.reference.forwards import FORWARDS

PACKAGE = "app.reference"
OWN_PACKAGE = "app"
# The decorators that put a function in a table (the forwards, mask rules, activations).
REGISTRY_DECORATORS = frozenset({"forward", "compute_mask", "activation"})
OPS_PREFIX = "ops."


# The page's code for a class -------------------------------------------------------------


def forward_function(class_name: str) -> Callable[..., Any]:
    """The function registered with `@forward(class_name)`."""
    fn = FORWARDS.get(class_name)
    if fn is None:
        raise UnsupportedModel(
            f"There is no reference forward for layer class {class_name}.",
            {"class_name": class_name},
        )
    return fn


@dataclass(frozen=True)
class Binding:
    """A function a factory made, as the line that makes it: `name = factory('argument')`."""

    name: str
    factory: Callable[..., Any]
    argument: str

    def line(self) -> str:
        return f"{self.name} = {self.factory.__name__}({self.argument!r})"


def forward_binding(class_name: str, fn: Callable[..., Any] | None = None) -> Binding | None:
    """How the code names `fn` (the class's forward by default) when a factory made it (a
    function defined inside another); None for a module-level function."""
    fn = fn or forward_function(class_name)
    if "<locals>" not in fn.__qualname__:
        return None
    factory_name = fn.__qualname__.split(".<locals>")[0]
    factory = getattr(sys.modules[fn.__module__], factory_name)
    for argument in (class_name, class_name.removeprefix(OPS_PREFIX)):
        if _same_closure(_call_quietly(factory, argument), fn):
            name = re.sub(r"\W", "_", class_name.replace(".", "_")).lower() + "_forward"
            return Binding(name, factory, argument)
    raise RuntimeError(f"cannot name the forward of {class_name}")  # a bug of ours


def _call_quietly(factory: Callable, argument: str) -> Callable | None:
    try:
        return factory(argument)
    except (KeyError, ValueError):
        return None


def _same_closure(made: Callable | None, fn: Callable) -> bool:
    if made is None or made.__code__ is not fn.__code__:
        return False
    cells = lambda f: [c.cell_contents for c in f.__closure__ or ()]  # noqa: E731
    return cells(made) == cells(fn)


def forward_object(class_name: str) -> Callable[..., Any]:
    """What the code defines for the class's forward: the function, or the factory that
    makes it."""
    binding = forward_binding(class_name)
    return binding.factory if binding is not None else forward_function(class_name)


def function_name(class_name: str) -> str:
    """`core.dense` (`operations.ops_add_forward` for a factory's): the module (inside
    `app.reference`) and the name the code gives the class's forward."""
    fn = forward_function(class_name)
    binding = forward_binding(class_name)
    return helper_name(fn.__module__, binding.name if binding else fn.__name__)


@cache
def forward_source(class_name: str) -> str:
    """The code of `class_name`'s forward: its function's text from `def` to its last line,
    or the line that makes it (`ops_add_forward = _binary('Add')`)."""
    binding = forward_binding(class_name)
    return binding.line() if binding else definition_text(forward_function(class_name))


def all_helper_names(class_name: str) -> list[str]:
    """Every definition the forward of `class_name` uses, transitively; callees first."""
    return list(_all_helper_names(class_name))


@cache
def _all_helper_names(class_name: str) -> tuple[str, ...]:
    fn = forward_function(class_name)
    own = (fn.__module__, fn.__name__) if forward_binding(class_name) is None else None
    assembly = definitions([forward_object(class_name)])
    return tuple(
        helper_name(d.module, d.name) for d in assembly.definitions if (d.module, d.name) != own
    )


def helper_name(module: str, name: str) -> str:
    """`forwards.weight`: the module relative to `app.reference`; outside it, in full
    (`app.errors.UnsupportedModel`)."""
    return f"{module.removeprefix(PACKAGE + '.')}.{name}"


@cache
def helper_source(name: str) -> str:
    """The text of the helper `module.name` (a name from `all_helper_names`)."""
    module_name, _, attr = name.rpartition(".")
    return _module_index(_full_module(module_name)).text(attr)


def helper_object(name: str) -> Any:
    """The function, class or value named `module.name`."""
    module_name, _, attr = name.rpartition(".")
    return getattr(sys.modules[_full_module(module_name)], attr)


def _full_module(module_name: str) -> str:
    inside = f"{PACKAGE}.{module_name}"
    return inside if inside in sys.modules else module_name


def definition_text(obj: Any) -> str:
    """One module-level function's or class's text, as the page and a program hold it."""
    return _module_index(obj.__module__).text(obj.__name__)


def is_registry(decorator: ast.expr) -> bool:
    """`@forward(...)`, `@compute_mask(...)`, `@activation(...)`: entering a table."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Name) and target.id in REGISTRY_DECORATORS


# The walk: a program's definitions ---------------------------------------------------------


class NameClash(RuntimeError):
    """Two modules define the same name: they cannot share the program's one namespace."""


@dataclass(frozen=True)
class Definition:
    module: str
    name: str
    text: str  # exactly as in the module's file (registry decorators left out)


@dataclass
class Assembly:
    """What a program needs, in an order where each definition follows what it uses."""

    imports: list[str] = field(default_factory=list)  # `import numpy as np`, ...
    definitions: list[Definition] = field(default_factory=list)
    namespaces: dict[str, list[str]] = field(default_factory=dict)  # alias -> attributes

    def text(self) -> str:
        blocks = ["\n".join(self.imports)]
        blocks += [d.text for d in self.definitions]
        blocks += [namespace_line(alias, names) for alias, names in self.namespaces.items()]
        return "\n\n\n".join(blocks) + "\n"

    def defined(self) -> set[str]:
        names = {d.name for d in self.definitions} | set(self.namespaces)
        bound = [part.strip() for line in self.imports for part in line.split(",")]
        return names | {_bound_name(part) for part in bound}


def namespace_line(alias: str, names: list[str]) -> str:
    members = ", ".join(f"{n}={n}" for n in names)
    return f"{alias} = SimpleNamespace({members})  # the module `{alias}` the code above names"


def definitions(objects: Iterable[Any]) -> Assembly:
    """The assembly for these module-level functions (forwards, mask rules) of `app`."""
    builder = _Builder()
    for obj in objects:
        builder.visit(obj.__module__, obj.__name__)
    return builder.assembly()


# Reading a module -------------------------------------------------------------------------


@dataclass
class _ModuleIndex:
    module: ModuleType
    lines: list[str]
    nodes: dict[str, ast.stmt]  # top-level definitions by the name they bind
    imports: dict[str, tuple[str | None, str, str | None]]  # bound name -> (from, name, as)

    def text(self, name: str) -> str:
        node = self.nodes[name]
        # A registry decorator is a registration, not the function: its lines are left out;
        # any other (`@dataclass`) is part of what the object is, and stays.
        kept = [d for d in getattr(node, "decorator_list", []) if not is_registry(d)]
        start = min([node.lineno, *(d.lineno for d in kept)])
        return "\n".join(self.lines[start - 1 : node.end_lineno])


@cache
def _module_index(module_name: str) -> _ModuleIndex:
    module = sys.modules[module_name]
    source = inspect.getsource(module)
    with AST_LOCK:  # one thread at a time (app.ast_guard)
        tree = ast.parse(source)
    nodes: dict[str, ast.stmt] = {}
    imports: dict[str, tuple[str | None, str, str | None]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            nodes[node.name] = node
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for bound in ast.walk(target):  # `a = ...`, `a, b = ...`
                    if isinstance(bound, ast.Name):
                        nodes[bound.id] = node
        elif isinstance(node, ast.Import):
            for alias in node.names:
                imports[alias.asname or alias.name.split(".")[0]] = (None, alias.name, alias.asname)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for alias in node.names:
                imports[alias.asname or alias.name] = (node.module, alias.name, alias.asname)
    return _ModuleIndex(module, source.splitlines(), nodes, imports)


def _used_names(node: ast.stmt) -> tuple[set[str], set[tuple[str, str]]]:
    """Names a definition reads, and (name, attribute) pairs (`activations.relu`); the
    registry decorators' names excluded."""
    names: set[str] = set()
    attributes: set[tuple[str, str]] = set()
    skipped = [d for d in getattr(node, "decorator_list", []) if is_registry(d)]
    skipped_ids = {id(n) for d in skipped for n in ast.walk(d)}
    for sub in ast.walk(node):
        if id(sub) in skipped_ids:
            continue
        if isinstance(sub, ast.Name):
            names.add(sub.id)
        elif isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
            attributes.add((sub.value.id, sub.attr))
    return names, attributes


def _own(module_name: str | None) -> bool:
    return module_name is not None and (
        module_name == OWN_PACKAGE or module_name.startswith(OWN_PACKAGE + ".")
    )


def _import_line(source: str | None, name: str, alias: str | None) -> str:
    bound = f" as {alias}" if alias else ""
    return f"import {name}{bound}" if source is None else f"from {source} import {name}{bound}"


def _bound_name(line: str) -> str:
    return line.rsplit(" ", 1)[-1]


# Gathering -------------------------------------------------------------------------------


class _Builder:
    def __init__(self) -> None:
        self.order: list[Definition] = []
        self.seen: set[tuple[str, str]] = set()
        self.emitted: set[int] = set()  # the statements copied, by id
        self.owners: dict[str, str] = {}  # name in the program -> the module that defines it
        self.imports: dict[str, str] = {}  # bound name -> import line
        self.namespaces: dict[str, dict[str, None]] = {}

    def assembly(self) -> Assembly:
        imports = _merged(set(self.imports.values()))
        if self.namespaces:
            imports.append("from types import SimpleNamespace")
        namespaces = {alias: list(names) for alias, names in self.namespaces.items()}
        return Assembly(imports, self.order, namespaces)

    def visit(self, module_name: str, name: str) -> None:
        """Copy `name` of `module_name` and, first, everything it uses."""
        if (module_name, name) in self.seen:
            return
        self.seen.add((module_name, name))
        self._claim(name, module_name)
        index = _module_index(module_name)
        node = index.nodes[name]
        names, attributes = _used_names(node)
        for used in sorted(names):
            if used != name:
                self._resolve(index, used)
        for base, attribute in sorted(attributes):
            self._resolve_attribute(index, base, attribute)
        if id(node) not in self.emitted:  # `a, b = ...` binds two names in one statement
            self.emitted.add(id(node))
            self.order.append(Definition(module_name, name, index.text(name)))

    def _claim(self, name: str, module_name: str) -> None:
        owner = self.owners.setdefault(name, module_name)
        if owner != module_name:
            raise NameClash(f"{name!r} is defined in both {owner} and {module_name}")

    def _resolve(self, index: _ModuleIndex, name: str) -> None:
        if name in index.nodes:
            self.visit(index.module.__name__, name)
        elif name in index.imports:
            source, imported, alias = index.imports[name]
            if _own(source):
                if alias is not None and alias != imported:
                    raise NameClash(f"{source}.{imported} is imported as {alias!r}")
                target = sys.modules[source]  # type: ignore[index]
                if not isinstance(getattr(target, imported), ModuleType):
                    self.visit(_defining_module(source, imported), imported)  # type: ignore[arg-type]
            elif not _own(imported if source is None else None):
                line = _import_line(source, imported, alias)
                self._claim(name, line)
                self.imports[name] = line
        # anything else: a builtin, a parameter or a local variable

    def _resolve_attribute(self, index: _ModuleIndex, base: str, attribute: str) -> None:
        """`activations.apply_activation` where `activations` is a module of `app`."""
        if base not in index.imports or base in index.nodes:
            return
        source, imported, _ = index.imports[base]
        module_name = f"{source}.{imported}" if source else imported
        if not _own(module_name) or module_name not in sys.modules:
            return
        self._claim(base, "namespace " + module_name)
        self.visit(_defining_module(module_name, attribute), attribute)
        self.namespaces.setdefault(base, {})[attribute] = None


def _defining_module(module_name: str, name: str) -> str:
    """Where `name`, found in `module_name`, is defined (it may be re-exported)."""
    value = getattr(sys.modules[module_name], name)
    home = getattr(value, "__module__", module_name)
    if name in _module_index(module_name).nodes or home not in sys.modules:
        return module_name
    return home


def _merged(lines: set[str]) -> list[str]:
    """`import x` lines first, then one `from m import a, b` line per module."""
    plain = sorted(line for line in lines if line.startswith("import "))
    by_module: dict[str, list[str]] = {}
    for line in lines - set(plain):
        module, names = line.removeprefix("from ").split(" import ", 1)
        by_module.setdefault(module, []).append(names)
    merged = [f"from {m} import {', '.join(sorted(n))}" for m, n in sorted(by_module.items())]
    return plain + merged
