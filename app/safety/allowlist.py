"""What a model config may name and still be handed to Keras: class and module, as pairs.

The layer registry (`app.layers.registry`) is the allowlist of layer classes and of the
modules each may come from (an entry's `modules`; `allowlist()` adds InputLayer, the
containers and the RNN cells); this module asks it, and adds the few other objects a config
holds (initializers, regularizers, constraints, dtype policies, activation names). Every pair
is what Keras 3.15 writes (`serialize_with_public_class` in
keras/src/saving/serialization_lib.py): a class exported as `keras.layers.Dense` is written
with module `keras.layers`; a class Keras does not export is written with the module it lives
in. Legacy files (Keras 1 and 2, and any `.h5`) write no module for layers: there the class
name alone is looked up among Keras' own classes.

tests/safety/test_allowlist.py checks each table against Keras itself, both ways: every pair
here resolves, in Keras, to a class of the expected kind, and every class Keras exports is here.
"""

from __future__ import annotations

from app.graph import CONTAINER_CLASSES
from app.layers.operations import OPS_PREFIX, operation_module
from app.layers.recurrent import RNN_CELLS  # the cells an RNN holds (their weights: the RNN's)
from app.layers.registry import LAYERS_MODULE, allowed_modules, lookup

INITIALIZERS = frozenset(
    {
        "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
        "LecunNormal", "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform",
        "STFT", "TruncatedNormal", "VarianceScaling", "Zeros",
    }
)  # fmt: skip
REGULARIZERS = frozenset({"L1", "L1L2", "L2", "OrthogonalRegularizer"})
CONSTRAINTS = frozenset({"MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm"})
DTYPE_POLICIES = frozenset({"DTypePolicy", "FloatDTypePolicy"})
# tf.keras 2.4+ and tf_keras wrote a layer's mixed-precision policy as a `Policy` object
# (module `keras.mixed_precision` from tf_keras 2.13 on, none before). Keras 3 reads neither
# as a policy (its deserializer hands back the string "Policy"), so it is never given one:
# the check's Keras 3 copy writes the policy's name instead (app.check.keras3_copy).
KERAS2_DTYPE_POLICIES = frozenset({"Policy"})
KERAS2_POLICY_MODULES = (None, "keras.mixed_precision")
# The other names Keras 3.15 knows each class by (its `ALL_OBJECTS_DICT`): Keras 3.0-3.5
# wrote `OrthogonalInitializer` where later versions write `Orthogonal`, Keras 1 and 2 wrote
# `normal`, `l1l2`, `max_norm`.
INITIALIZER_ALIASES = frozenset(
    {
        "IdentityInitializer", "OrthogonalInitializer", "STFTInitializer", "constant",
        "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity",
        "lecun_normal", "lecun_uniform", "normal", "one", "ones", "orthogonal",
        "random_normal", "random_uniform", "stft", "truncated_normal", "uniform",
        "variance_scaling", "zero", "zeros",
    }
)  # fmt: skip
REGULARIZER_ALIASES = frozenset({"l1", "l1l2", "l2", "orthogonal_regularizer"})
CONSTRAINT_ALIASES = frozenset({"max_norm", "min_max_norm", "non_neg", "unit_norm"})
# Keras reads an initializer, regularizer or constraint with its kind's `deserialize`, which
# looks the class name up among its own objects of that kind whatever `module` the file
# wrote (so every spelling of a class across Keras versions reads). The module is still held
# to Keras' own: the kind's public module, or (what Keras 3.0 wrote) a module of the package
# that defines it. Each kind: public module -> (source package, every name).
OBJECT_KINDS = {
    "keras.initializers": ("keras.src.initializers", INITIALIZERS | INITIALIZER_ALIASES),
    "keras.regularizers": ("keras.src.regularizers", REGULARIZERS | REGULARIZER_ALIASES),
    "keras.constraints": ("keras.src.constraints", CONSTRAINTS | CONSTRAINT_ALIASES),
    "keras": ("keras.src.dtype_policies", DTYPE_POLICIES),
}
OBJECT_PAIRS = frozenset(
    (module, name) for module, (_, names) in OBJECT_KINDS.items() for name in names
)
# Names a legacy config (no module) may give: Keras resolves them among its own objects.
LEGACY_OBJECTS = frozenset(
    INITIALIZERS
    | REGULARIZERS
    | CONSTRAINTS
    | INITIALIZER_ALIASES
    | REGULARIZER_ALIASES
    | CONSTRAINT_ALIASES
)
# Keras 3.0 wrote some layer classes with the module they are defined in, not the public
# one (`keras.src.layers.core.input_layer`). Keras 3.15 still reads that: it imports the
# module, one of its own, and takes the class from it (`_retrieve_class_or_fn` in
# keras/src/saving/serialization_lib.py), and the worker then holds every layer it built to
# the allowlist.
LAYER_SOURCE_PACKAGES = ("keras.src.layers", "keras.src.models")
# tf.keras 2.12+ and tf_keras write a nested model with the module its class is defined in
# (`keras.src.engine.functional`, `tf_keras.src.engine.functional`); those are Keras' own
# classes. Keras 3 cannot import those modules: the check then says Keras could not load it.
KERAS2_CONTAINER_MODULES = frozenset(
    f"{package}.engine.{module}"
    for package in ("keras", "keras.src", "tf_keras.src")
    for module in ("functional", "sequential", "training")
)

# keras.activations (Keras 3.15): the names an `activation` may give.
ACTIVATIONS = frozenset(
    {
        "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
        "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish",
        "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus",
        "softsign", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh",
        "tanh_shrink", "threshold",
    }
)  # fmt: skip
# A built-in activation given as a function object: Keras 3 writes module `builtins` and looks
# the name up among its own activations.
ACTIVATION_FUNCTION_MODULES = frozenset({"builtins", "keras.activations"})


# Keras 1 class names Keras 2 renamed, by the class each became: the reader reads them so
# (app.formats.keras1) and the check's Keras 3 copy writes them so.
KERAS1_CLASSES = {
    "Convolution1D": "Conv1D",
    "Convolution2D": "Conv2D",
    "Convolution3D": "Conv3D",
    "AtrousConvolution1D": "Conv1D",
    "AtrousConvolution2D": "Conv2D",
    "Deconvolution2D": "Conv2DTranspose",
}


def layer_class_known(class_name: str, *, cell: bool = False) -> bool:
    """A class the explainer knows: the registry's (by its Keras 2 name, for a Keras 1 class
    Keras 2 renamed), InputLayer, or an RNN cell at `cell`."""
    if class_name == "InputLayer" or class_name in CONTAINER_CLASSES:
        return True
    if cell and class_name in RNN_CELLS:
        return True
    return lookup(KERAS1_CLASSES.get(class_name, class_name)) is not None


def layer_modules(class_name: str) -> frozenset[str]:
    """The modules Keras writes for a known layer class (a legacy file writes none): the
    registry entry's, or a structure class's (InputLayer, containers, cells)."""
    if class_name.startswith(OPS_PREFIX):  # an operation, known or not: Keras' ops module
        return frozenset({operation_module(class_name)})
    listed = allowed_modules(class_name)
    modules = frozenset(listed if listed is not None else (LAYERS_MODULE,))
    return modules | KERAS2_CONTAINER_MODULES if class_name in CONTAINER_CLASSES else modules


def layer_module_expected(module: object, class_name: str) -> bool:
    """`module` is where Keras exports the known class `class_name`, or (Keras 3.0) a module
    of Keras' own layer sources, from which Keras 3.15 imports the class by name."""
    if not isinstance(module, str):
        return False
    if module in layer_modules(class_name):
        return True
    return not class_name.startswith(OPS_PREFIX) and _inside(module, LAYER_SOURCE_PACKAGES)


def object_known(module: str | None, class_name: str) -> bool:
    """An initializer, regularizer, constraint or dtype policy Keras itself provides (a
    Keras 2 `Policy` too, which the check never hands to Keras as written)."""
    if class_name in KERAS2_DTYPE_POLICIES and module in KERAS2_POLICY_MODULES:
        return True
    if module is None:
        return class_name in LEGACY_OBJECTS
    if (module, class_name) in OBJECT_PAIRS:
        return True
    return any(
        class_name in names and _inside(module, (package,))
        for package, names in OBJECT_KINDS.values()
    )


def _inside(module: object, packages: tuple[str, ...]) -> bool:
    """`module` is one of `packages` or a module inside one."""
    return isinstance(module, str) and any(
        module == p or module.startswith(p + ".") for p in packages
    )


def registered_name_expected(registered_name: object, class_name: str) -> bool:
    """Keras writes `null` for its own classes (`Functional`, and operations, their name);
    anything else names a class registered by user code."""
    return registered_name is None or registered_name == class_name


def activation_known(value: object) -> bool:
    """An activation Keras resolves among its own: a known name, or a function given by one."""
    if isinstance(value, str):
        return value in ACTIVATIONS
    if not isinstance(value, dict) or value.get("class_name") != "function":
        return False
    name = value.get("config")
    return (
        value.get("module") in ACTIVATION_FUNCTION_MODULES
        and name in ACTIVATIONS
        and value.get("registered_name") in (None, "function", name)
    )
