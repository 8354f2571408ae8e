"""Dependencies point one way: the lower packages never import the check or what serves it,
and the check's package takes part in no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"
LOWER = ("app.analysis", "app.formats", "app.safety", "app.layers", "app.reference", "app.graph")
UPPER = ("app.check", "app.explain", "app.isolation", "app.reports", "app.web", "app.cli")


def modules() -> dict[str, Path]:
    found = {}
    for path in APP.rglob("*.py"):
        parts = path.relative_to(APP.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ours that `path` imports, anywhere in it (deferred imports included)."""
    named: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            named |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names}
    return {_module(name, known) for name in named if name.startswith("app")} - {""}


def _module(name: str, known: dict[str, Path]) -> str:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, known) - {name} for name, path in known.items()}


def test_lower_packages_never_import_the_check_or_what_serves_it():
    edges = graph()
    upward = sorted(
        (a, b) for a, bs in edges.items() for b in bs if a.startswith(LOWER) and b.startswith(UPPER)
    )
    assert upward == []


def test_the_check_takes_part_in_no_import_cycle():
    edges = graph()
    cycles = []
    for start in (name for name in edges if name.startswith("app.check")):
        stack, seen = [(start, (start,))], set()
        while stack:
            node, path = stack.pop()
            for target in edges.get(node, ()):
                if target == start:
                    cycles.append(path)
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, (*path, target)))
    assert cycles == []
