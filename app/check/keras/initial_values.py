"""Loading a model without drawing the initial values its file then overwrites.

`load_model` rebuilds each layer, and building creates every variable from its initializer
(a kernel's GlorotUniform draws random numbers; a BatchNormalization's four vectors are
filled), and then every variable is assigned the file's values. Keras 3 refuses a file
whose stored variables do not match a layer's count (`Layer._check_load_own_variables`;
`.h5`: `load_weights_from_hdf5_group`), and a spec's `set_weights` sets every weight, so
those initial values are replaced. Drawing them is 5–10% of a load's CPU time (ResNet50 in
a fresh warmed worker: 2.00–2.31 s plainly, 1.82–2.22 s without; the rest is Keras building
and tracking its layers in Python).

So a model is loaded first with `deferred_initializers`: a variable Keras creates from an
`Initializer` starts without a value (Keras' own state for a variable not yet initialized,
which read gives a draw of its initializer), and is counted unassigned until something
assigns it (the file's values, `set_weights`): its TensorFlow variable is then made from
the value assigned. Making it from zeros first and assigning after (as this did before)
cost two more TensorFlow operations per variable: MobileNetV2's load in a fresh warmed
worker took 777-880 ms of CPU that way, 524-604 ms this way. Otherwise (a variable the
file does not hold, such as a Bidirectional layer's unused copy of the layer it wraps, or
one assigned by a path not seen here), or when that load raised, the model is loaded again
the plain way (`load_faithfully`). Variables made from anything else than an Initializer (a
SeedGenerator's state, made from its seed by a function of its own; a constant) are made as
Keras makes them. Code that reads a variable between its creation and its assignment reads
a draw of its initializer, as in a plain load: the loads of the corpus (40 files) and of
MobileNetV2 and ResNet50 give every variable and every layer output equal bit for bit
(tests/runtime/test_initial_values.py).

bench/check_vs_keras.py compares a check with it and without it (`--set
check_defer_initializers=false`); KEX_CHECK_DEFER_INITIALIZERS=false switches it off
(JobRequest.defer_initializers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def load_faithfully(keras: Any, load: Callable[[], Any]) -> Any:
    """`load()` with the initializers deferred, or again plainly when that load raised or left
    a variable unassigned: either way the model plain Keras would have loaded."""
    try:
        with deferred_initializers(keras) as unassigned:
            model = load()
    except Exception:
        return load()  # the plain load's own error, if it has one, is the one told
    return load() if unassigned else model


@contextmanager
def deferred_initializers(keras: Any) -> Iterator[list[Any]]:
    """Within: a variable Keras makes from an Initializer is made without a value, its
    TensorFlow variable made by its first assignment, from the value assigned. Yields a list
    that, once the block is left, holds the variables so made and never assigned. Keras'
    own methods are restored whatever happens."""
    import tensorflow as tf
    from keras.src.backend.tensorflow import core

    variable_class = core.Variable
    initialize, direct_assign = (
        variable_class._initialize_with_initializer,
        variable_class._direct_assign,
    )
    pending: dict[int, Any] = {}  # id(variable) -> variable, made without a value, not assigned
    unassigned: list[Any] = []

    def initialize_later(variable: Any, initializer: Any) -> None:
        if not isinstance(initializer, keras.initializers.Initializer):
            return initialize(variable, initializer)
        variable._value = None  # Keras' uninitialized variable: read, a draw of `initializer`
        variable._initializer = initializer
        pending[id(variable)] = variable

    def assign(variable: Any, value: Any) -> None:
        if pending.pop(id(variable), None) is None:
            return direct_assign(variable, value)
        variable._initializer = None
        variable._initialize(tf.cast(value, variable._dtype))

    variable_class._initialize_with_initializer = initialize_later
    variable_class._direct_assign = assign
    try:
        yield unassigned
    finally:
        variable_class._initialize_with_initializer = initialize
        variable_class._direct_assign = direct_assign
        unassigned.extend(pending.values())
