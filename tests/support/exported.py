"""Running an exported program (app.export) as its user would: a fresh interpreter where
NumPy is the only package it can import (`python -I -S`, and a path holding NumPy alone)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import zipfile
from functools import cache
from pathlib import Path

import numpy as np

from app.export.bundle import PROGRAM

NUMBER = re.compile(r"-?\d+\.\d*(?:e[-+]?\d+)?|-?\d+(?:e[-+]?\d+)?")
RUN_S = 300


@cache
def numpy_only_path(root: Path) -> Path:
    """A folder holding NumPy (a link to the installed package) and nothing else."""
    folder = root / "numpy-only"
    folder.mkdir(parents=True, exist_ok=True)
    installed = Path(np.__file__).resolve().parent
    for item in installed.parent.iterdir():
        if item.name == "numpy" or item.name.startswith("numpy.libs"):
            link = folder / item.name
            if not link.exists():
                link.symlink_to(item)
    return folder


def run_program(folder: Path, numpy_root: Path, *args: str) -> subprocess.CompletedProcess:
    """`python model_forward.py ARGS` in `folder`, with NumPy alone importable."""
    code = (
        "import runpy, sys; "
        f"sys.path[:0] = [{str(numpy_only_path(numpy_root))!r}, {str(folder)!r}]; "
        f"sys.argv = [{PROGRAM!r}, *{list(args)!r}]; "
        f"runpy.run_path({str(folder / PROGRAM)!r}, run_name='__main__')"
    )
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=RUN_S,
    )


def imported_modules(program: Path) -> set[str]:
    """The top-level modules the program imports."""
    tree = ast.parse(program.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found


def foreign_imports(program: Path) -> set[str]:
    """What the program imports besides NumPy and the standard library."""
    return imported_modules(program) - set(sys.stdlib_module_names) - {"numpy", "__future__"}


def largest_relative_difference(stdout: str) -> float:
    """The worst `relative to its largest value: X` the program printed."""
    found = re.findall(r"relative to its largest value: ([0-9.e+-]+|nan|inf)", stdout)
    if not found:
        raise AssertionError(f"the program printed no difference:\n{stdout[-2000:]}")
    return max(float(x) for x in found)


def printed_numbers(stdout: str, output_index: int = 0) -> list[float]:
    """The values of one printed output (the lines after its `name (shape):` header)."""
    blocks = re.split(r"^\S+ \([0-9, ]*\):$", stdout, flags=re.M)[1:]
    block = blocks[output_index].split("largest difference")[0]
    return [float(x) for x in NUMBER.findall(block)]


def unzip(data: bytes, target: Path) -> Path:
    """Extract an export's zip; the folder holding model_forward.py."""
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as archive:
        archive.extractall(target)
    return target / "model_forward"


def export_file(
    path: Path,
    inputs: list[np.ndarray],
    expected: list[np.ndarray] | None,
    folder: Path,
    tolerance: float = 1e-4,
) -> Path:
    """What a check writes for a model file (app.check.reference_side.export_program's
    `write_program`, then the pipeline's `add_expected`), without the service around it."""
    from app.analysis.reference import materialize_weights
    from app.analysis.resolve import resolve
    from app.export.bundle import add_expected, write_program
    from app.formats import read_model

    with read_model(path) as loaded:
        graph = loaded.graph
        resolve(graph, weights_in_file=True)
        weights = materialize_weights(graph, 0)
        write_program(folder, graph, weights, inputs, seeded_weights=False, tolerance=tolerance)
    if expected is not None:
        add_expected(folder, expected)
    return folder
