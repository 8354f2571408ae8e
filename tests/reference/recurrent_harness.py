"""Run a recurrent layer or wrapper in Keras and in the reference, with masks and states.

Like `harness.py`, but the weights are keyed by their path inside the layer
(`forward_lstm/lstm_cell/kernel`), since a wrapper holds several weights of one role, and a
call can take a mask and initial states. Only tests import this (it imports keras).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from app.reference import run_layer
from app.reference.forwards import as_outputs, named_weights
from tests.reference.harness import TOLERANCE, keras_layer
from tests.support import kerasref
from tests.support.kerasref import keras, weight_path
from tests.support.models import randomize_weights


def entry(class_name: str, **config: Any) -> dict:
    """A serialized built-in layer or cell, as a wrapper's config holds it."""
    return {"module": "keras.layers", "class_name": class_name, "config": config}


def keras_run(
    class_name: str,
    config: dict,
    x: np.ndarray,
    mask: np.ndarray | None = None,
    states: list[np.ndarray] | None = None,
    training: bool = False,
) -> tuple[list[np.ndarray], dict[str, np.ndarray], dict]:
    """Keras' outputs (flattened), its randomized weights by path, and its get_config().

    The session is cleared first, so sublayers Keras names itself get their bare names
    (`stacked_rnn_cells`, `lstm_cell`), those a config without names implies.
    """
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    layer = keras_layer(class_name, copy.deepcopy(config))
    kwargs: dict[str, Any] = {"training": training}
    if mask is not None:
        kwargs["mask"] = mask
    if states is not None:
        kwargs["initial_state"] = list(states)
    kerasref.call(layer, x, **kwargs)  # builds the weights
    randomize_weights(layer, seed=1)
    outputs = keras.tree.flatten(kerasref.call(layer, x, **kwargs))
    weights = {weight_path(layer, w): np.asarray(w.numpy()) for w in layer.weights}
    return [keras.ops.convert_to_numpy(o) for o in outputs], weights, layer.get_config()


def reference_run(
    class_name: str,
    config: dict,
    weights: dict[str, np.ndarray],
    x: np.ndarray,
    mask: np.ndarray | None = None,
    states: list[np.ndarray] | None = None,
    training: bool = False,
) -> list[np.ndarray]:
    """The reference's outputs, weights given by path (plus role aliases, as the executor)."""
    table = named_weights((name, name.rsplit("/", 1)[-1], v) for name, v in weights.items())
    masks = None if mask is None else [mask]
    return as_outputs(run_layer(class_name, config, table, [x, *(states or [])], training, masks))


def assert_sequence_layer_matches_keras(
    class_name: str, config: dict, x: np.ndarray, **options: Any
) -> list[np.ndarray]:
    """Same outputs as Keras within TOLERANCE (shape, dtype, values), from the config as given
    and from Keras' full get_config(), which must agree exactly."""
    expected, weights, full_config = keras_run(class_name, config, x, **options)
    ours = reference_run(class_name, config, weights, x, **options)
    again = reference_run(class_name, full_config, weights, x, **options)
    assert len(ours) == len(expected) == len(again)
    for mine, theirs, full in zip(ours, expected, again, strict=True):
        np.testing.assert_array_equal(full, mine)
        assert mine.shape == theirs.shape
        assert mine.dtype == theirs.dtype
        np.testing.assert_allclose(mine, theirs, **TOLERANCE)
    return ours
