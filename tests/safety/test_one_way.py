"""The scan never reaches into the readers: no module of app.safety imports app.formats."""

from __future__ import annotations

import ast
from pathlib import Path

import app.safety

INTAKE = Path(app.safety.__file__).parent


def _imported(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_safety_modules_never_import_the_readers():
    offenders = {
        path.name: sorted(m for m in _imported(path) if m.split(".")[:2] == ["app", "formats"])
        for path in sorted(INTAKE.glob("*.py"))
    }
    assert {name: mods for name, mods in offenders.items() if mods} == {}
