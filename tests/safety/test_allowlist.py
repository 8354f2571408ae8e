"""The allowlist against Keras itself, both ways: every pair it allows resolves, in Keras'
own deserializer, to a class of the expected kind (or to nothing, which Keras then refuses),
and every pair Keras writes for a class we know is allowed."""

from __future__ import annotations

import functools
import importlib
import pkgutil

import pytest
from keras.src import constraints as constraints_module
from keras.src import initializers, regularizers
from keras.src.activations import ALL_OBJECTS_DICT as KERAS_ACTIVATIONS
from keras.src.ops.operation import Operation
from keras.src.saving import serialization_lib

from app.errors import all_error_classes
from app.graph import CONTAINER_CLASSES
from app.layers.registry import known_classes
from app.safety.allowlist import (
    ACTIVATION_FUNCTION_MODULES,
    ACTIVATIONS,
    CONSTRAINTS,
    DTYPE_POLICIES,
    INITIALIZERS,
    KERAS2_CONTAINER_MODULES,
    LEGACY_OBJECTS,
    OBJECT_KINDS,
    OBJECT_PAIRS,
    REGULARIZERS,
    RNN_CELLS,
    layer_module_expected,
    layer_modules,
    object_known,
)
from app.safety.refusals import REFUSAL_CODES, Refusal
from tests.support.kerasref import keras

KEBAB = r"^[a-z]+(-[a-z]+)*$"
OPERATION_MODULES = [f"keras.src.ops.{name}" for name in ("numpy", "nn", "math", "linalg")]


def resolve(module, name, obj_type="class"):
    """What Keras' deserializer finds for (module, name), with no custom objects; None when
    it finds nothing (and would refuse to load). An operation (`ops.Add`) is looked up under
    the class name Keras writes (`Add`)."""
    name = name.removeprefix("ops.")
    config = {"module": module, "class_name": name, "config": {}, "registered_name": None}
    try:
        return serialization_lib._retrieve_class_or_fn(
            name, None, module, obj_type=obj_type, full_config=config, custom_objects={}
        )
    except (TypeError, ValueError):
        return None


def keras_classes(name):
    """Every class named `name` that Keras defines as a layer, an application-private layer
    or a Functional operation."""
    found = [getattr(keras.layers, name, None)]
    found += [vars(module).get(name) for module in other_modules()]
    return {c for c in found if isinstance(c, type) and issubclass(c, Operation)}


@functools.cache
def other_modules():
    """Keras' operation modules and its application modules (their tests left out)."""
    package = importlib.import_module("keras.src.applications")
    names = [f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]
    names = [n for n in names if not n.endswith("_test")]
    return [importlib.import_module(n) for n in [*OPERATION_MODULES, *names]]


@pytest.mark.parametrize("name", known_classes())
def test_allowlist_has_every_module_keras_writes_for_a_registry_class(name):
    for cls in keras_classes(name):
        written = serialization_lib.serialize_with_public_class(cls)
        assert written["module"] in layer_modules(name), cls


@pytest.mark.parametrize("name", known_classes())
def test_allowlist_pairs_resolve_to_keras_layers_or_operations_only(name):
    for module in layer_modules(name):
        cls = resolve(module, name)
        assert cls is None or issubclass(cls, Operation), (module, name, cls)


def test_allowlist_resolves_every_registry_class_somewhere():
    """A class nothing resolves would be one Keras can never load: a registry typo."""
    missing = [n for n in known_classes() if not any(resolve(m, n) for m in layer_modules(n))]
    keras2_names = ["GroupedQueryAttention", "SyncBatchNormalization", "ThresholdedReLU"]
    tf_keras_op_layers = ["SlicingOpLambda", "TFOpLambda", "TensorFlowOpLayer"]  # never loaded
    assert missing == sorted(keras2_names + tf_keras_op_layers)


@pytest.mark.parametrize("name", sorted(CONTAINER_CLASSES | RNN_CELLS | {"InputLayer"}))
def test_allowlist_modules_of_models_cells_and_input_are_what_keras_writes(name):
    # Keras 2's container modules (tf.keras 2.14+ nested models) resolve nowhere in Keras 3.
    keras3_modules = sorted(layer_modules(name) - KERAS2_CONTAINER_MODULES)
    assert keras3_modules
    classes = {resolve(module, name) for module in keras3_modules}
    assert len(classes) == 1, (name, keras3_modules, classes)
    (cls,) = classes
    assert cls is not None and issubclass(cls, keras.layers.Layer)
    if name != "Model":  # keras.Model writes the Functional it builds
        assert serialization_lib.serialize_with_public_class(cls)["module"] in layer_modules(name)


BASES = {
    "keras.initializers": keras.initializers.Initializer,
    "keras.regularizers": keras.regularizers.Regularizer,
    "keras.constraints": keras.constraints.Constraint,
    "keras": keras.dtype_policies.DTypePolicy,
}
# How Keras reads an object of each kind inside a layer config (Dense's `kernel_initializer`,
# a layer's `dtype`): the kind's own `deserialize`.
DESERIALIZERS = {
    "keras.initializers": keras.initializers.deserialize,
    "keras.regularizers": keras.regularizers.deserialize,
    "keras.constraints": keras.constraints.deserialize,
    "keras": keras.dtype_policies.deserialize,
}
# The few objects with a required argument (STFT's default window needs scipy).
REQUIRED = {"constant": {"value": 0.0}, "stft": {"window": None}, "keras": {"name": "float32"}}


def read_object(module, name):
    """What Keras builds from `{"module": module, "class_name": name}` in a layer config."""
    public = next(m for m, (package, _) in OBJECT_KINDS.items() if module in (m, package))
    arguments = REQUIRED.get(public, REQUIRED.get(name.lower().removesuffix("initializer"), {}))
    config = {"module": module, "class_name": name, "config": arguments, "registered_name": None}
    return DESERIALIZERS[public](config), BASES[public]


@pytest.mark.parametrize(("module", "name"), sorted(OBJECT_PAIRS))
def test_allowlist_object_pairs_resolve_to_their_kind(module, name):
    obj, base = read_object(module, name)
    assert isinstance(obj, base)
    assert type(obj) is not base or base is keras.dtype_policies.DTypePolicy


def test_allowlist_keras_3_0_modules_read_as_keras_3_0_wrote_them():
    """Keras 3.0 wrote an object's defining module (`aryan_denoising_autoencoder.keras` in
    the wild corpus) and 3.0-3.5 `OrthogonalInitializer`; Keras 3.15 reads both."""
    written = [
        ("keras.src.initializers.random_initializers", "GlorotUniform"),
        ("keras.src.initializers.constant_initializers", "Zeros"),
        ("keras.initializers", "OrthogonalInitializer"),
    ]
    for module, name in written:
        assert object_known(module, name)
        obj = keras.initializers.deserialize(
            {"module": module, "class_name": name, "config": {}, "registered_name": None}
        )
        assert type(obj).__name__ == name.removesuffix("Initializer")
    assert layer_module_expected("keras.src.layers.core.input_layer", "InputLayer")
    assert resolve("keras.src.layers.core.input_layer", "InputLayer") is keras.layers.InputLayer
    assert not object_known("keras.src.saving.serialization_lib", "GlorotUniform")
    assert not object_known("keras.src.initializers", "Dense")
    assert not layer_module_expected("keras.src.saving", "Dense")
    assert not layer_module_expected("keras.src.layers", "ops.Add")


@pytest.mark.parametrize(
    ("names", "module", "exclude"),
    [
        (INITIALIZERS, keras.initializers, keras.initializers.Initializer),
        (REGULARIZERS, keras.regularizers, keras.regularizers.Regularizer),
        (CONSTRAINTS, keras.constraints, keras.constraints.Constraint),
    ],
)
def test_allowlist_has_every_object_keras_exports(names, module, exclude):
    exported = set()
    for attribute in dir(module):
        cls = getattr(module, attribute)
        if isinstance(cls, type) and issubclass(cls, exclude) and cls is not exclude:
            exported.add(serialization_lib.serialize_with_public_class(cls)["class_name"])
    assert exported == set(names)


def test_allowlist_dtype_policies_are_the_float_ones():
    for name in DTYPE_POLICIES:
        policy = resolve("keras", name).from_config({"name": "mixed_float16"})
        assert (policy.compute_dtype, policy.variable_dtype) == ("float16", "float32")


def test_allowlist_takes_tf_keras_policies_which_keras_3_cannot_read_as_written():
    """tf_keras' `Policy` (tf.keras 2.4-2.12: no module) is allowed, and never handed to Keras
    as written: Keras 3 reads it as the string "Policy" (the check's copy gives its name)."""
    assert object_known("keras.mixed_precision", "Policy")
    assert object_known(None, "Policy")
    assert not object_known("keras.mixed_precision.policy", "Policy")
    assert not object_known("keras.mixed_precision", "LossScaleOptimizer")
    config = {"name": "mixed_float16"}
    written = {"module": "keras.mixed_precision", "class_name": "Policy", "config": config}
    read = keras.dtype_policies.deserialize(written)
    assert not isinstance(read, keras.dtype_policies.DTypePolicy)


def test_allowlist_legacy_names_are_keras_own_objects():
    keras_objects = {
        **initializers.ALL_OBJECTS_DICT,
        **regularizers.ALL_OBJECTS_DICT,
        **constraints_module.ALL_OBJECTS_DICT,
    }
    bases = (keras.initializers.Initializer, keras.regularizers.Regularizer)
    bases += (keras.constraints.Constraint,)
    for name in LEGACY_OBJECTS:
        assert name in keras_objects, name
        assert keras_objects[name] not in bases, name


def test_allowlist_activations_are_exactly_keras_activations():
    assert set(ACTIVATIONS) == set(KERAS_ACTIVATIONS)


@pytest.mark.parametrize("module", sorted(ACTIVATION_FUNCTION_MODULES))
def test_allowlist_activation_functions_resolve_to_keras_activations_only(module):
    """Given as a function, a known name is Keras' activation, or nothing (an alias Keras'
    deserializer does not find, like `swish`, then fails to load: never other code)."""
    found = {name: resolve(module, name, "function") for name in ACTIVATIONS}
    assert all(fn in (None, KERAS_ACTIVATIONS[name]) for name, fn in found.items())
    assert found["relu"] is KERAS_ACTIVATIONS["relu"]


def test_refusal_codes_are_kebab_sentences_and_no_error_code():
    import re

    error_codes = {cls.code for cls in all_error_classes()}
    for code, description in REFUSAL_CODES.items():
        assert re.match(KEBAB, code) and code not in error_codes, code
        assert description.endswith("."), code
    with pytest.raises(ValueError):
        Refusal("not-a-code", None, (), "Because.")
