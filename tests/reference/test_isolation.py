"""The reference forward is an independent implementation: no Keras, TensorFlow or JAX."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import app.layers  # noqa: F401  (fills the registry)
import app.reference
from app.reference import FORWARDS
from tests.kerasref import keras

FRAMEWORKS = {"keras", "tensorflow", "tf_keras", "jax", "jaxlib", "torch"}
PACKAGE = Path(app.reference.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module a source file imports, dynamically or not."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute):
            func = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            if func in ("__import__", "import_module") and node.args:
                arg = node.args[0]
                names.add(arg.value.split(".")[0] if isinstance(arg, ast.Constant) else "?")
    return names


def test_reference_sources_import_no_framework():
    sources = sorted(PACKAGE.glob("*.py"))
    assert sources
    for path in sources:
        assert not imported_modules(path) & (FRAMEWORKS | {"?"}), path.name


def test_importing_the_reference_loads_no_framework():
    code = (
        "import json, sys, app.reference\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    root = PACKAGE.parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert not set(json.loads(done.stdout)) & FRAMEWORKS


def test_every_forward_is_for_an_allowlisted_layer_class():
    from app.layers.registry import REGISTRY

    assert set(FORWARDS) <= set(REGISTRY), sorted(set(FORWARDS) - set(REGISTRY))


def test_every_forward_names_a_keras_layer_class():
    from keras.src.applications import convnext

    keras2_only = {"SyncBatchNormalization"}  # tf.keras' experimental alias of BN
    for name in set(FORWARDS) - keras2_only:
        assert hasattr(keras.layers, name) or hasattr(convnext, name), name
