"""The reference forward is an independent implementation: no Keras, TensorFlow or JAX."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import app.analysis.initializers
import app.analysis.reference
import app.layers  # noqa: F401  (fills the registry)
import app.reference
from app.reference import FORWARDS
from tests.support.kerasref import keras

FRAMEWORKS = {"keras", "tensorflow", "tf_keras", "jax", "jaxlib", "torch"}
PACKAGE = Path(app.reference.__file__).parent
# The model-level executor and its initial weights: no framework, and (analysis code) no web
# stack or settings either; options arrive as arguments.
EXECUTOR = [Path(app.analysis.reference.__file__), Path(app.analysis.initializers.__file__)]
WEB = {"fastapi", "starlette", "jinja2", "pydantic_settings", "uvicorn"}


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


def test_executor_sources_import_no_framework_nor_web_stack():
    for path in EXECUTOR:
        assert not imported_modules(path) & (FRAMEWORKS | WEB | {"?"}), path.name
        assert "app.config" not in path.read_text(), path.name


def loaded_modules(module: str) -> set[str]:
    """Every module name in sys.modules after importing `module` in a fresh interpreter."""
    code = f"import json, sys, {module}\nprint(json.dumps(sorted(sys.modules)))"
    root = PACKAGE.parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout))


def test_importing_the_reference_loads_no_framework():
    assert not {m.split(".")[0] for m in loaded_modules("app.reference")} & FRAMEWORKS


def test_importing_the_executor_loads_no_framework_nor_settings():
    loaded = loaded_modules("app.analysis.reference")
    assert not {m.split(".")[0] for m in loaded} & (FRAMEWORKS | WEB)
    assert "app.config" not in loaded


def test_every_forward_is_for_an_allowlisted_layer_class():
    from app.layers.registry import REGISTRY

    assert set(FORWARDS) <= set(REGISTRY), sorted(set(FORWARDS) - set(REGISTRY))


def test_every_forward_names_a_keras_layer_class():
    from keras.src.applications import convnext, inception_resnet_v2
    from keras.src.layers.attention import grouped_query_attention

    from app.layers.registry import REGISTRY

    keras2_only = {"SyncBatchNormalization"}  # tf.keras' experimental alias of BN
    keras2_only |= {"ThresholdedReLU"}  # Keras 2's; Keras 3 removed it
    # tf.keras' op layers (TFOpLambda, ...): recorded TensorFlow functions Keras 3 has not
    keras2_only |= {name for name, entry in REGISTRY.items() if entry.traits.op_layer}
    assert keras2_only >= {"TFOpLambda", "SlicingOpLambda", "TensorFlowOpLayer"}
    modules = (keras.layers, convnext, inception_resnet_v2, grouped_query_attention)
    ops = keras.src.ops
    operations = (ops.numpy, ops.core, ops.nn, ops.math, ops.linalg)
    for name in set(FORWARDS) - keras2_only:
        if name.startswith("ops."):
            assert any(hasattr(module, name[4:]) for module in operations), name
        else:
            assert any(hasattr(module, name) for module in modules), name
