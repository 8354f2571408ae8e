"""Tiny seeded Keras models for the model-level reference forward, and Keras' side of the
comparison: every layer's outputs, call by call, as the worker collects them.

Only tests import this (it imports keras).
"""

from __future__ import annotations

import numpy as np

from tests.support import models as shared
from tests.support.kerasref import keras
from tests.support.models import randomize_weights

L = keras.layers


def branches():
    x = keras.Input((6, 6, 3))
    y = L.ReLU()(L.BatchNormalization()(L.Conv2D(4, 3, padding="same")(x)))
    pooled = L.Concatenate()([L.MaxPooling2D()(y), L.AveragePooling2D(2)(y)])
    z = L.GlobalAveragePooling2D()(L.Conv2D(5, 1, activation="tanh")(pooled))
    side = L.Dense(5)(L.Flatten()(x))
    return keras.Model(x, L.Dense(3, activation="softmax")(L.Add()([z, side])))


def multi_io():
    """Two inputs, two outputs, a layer returning three tensors (LSTM with return_state)."""
    seq, side = keras.Input((5, 4)), keras.Input((3,))
    out, h, c = L.LSTM(3, return_sequences=True, return_state=True)(seq)
    first = L.Dense(2, name="head_a")(L.GRU(2)(out))
    second = L.Dense(1, name="head_b")(L.Concatenate()([h, c, L.Dense(3)(side)]))
    return keras.Model([seq, side], [first, second])


def masked_text():
    """Embedding(mask_zero) and Masking feeding recurrent layers and wrappers."""
    ids, frames = keras.Input((6,), dtype="int32"), keras.Input((6, 3))
    emb = L.Embedding(10, 4, mask_zero=True)(ids)
    seq = L.Bidirectional(L.LSTM(3, return_sequences=True))(emb)
    text = L.GRU(2)(L.TimeDistributed(L.Dense(3, activation="relu"))(seq))
    masked = L.SimpleRNN(2, return_sequences=True)(L.Masking(mask_value=0.0)(frames))
    audio = L.LSTM(2, go_backwards=True)(L.Dense(2)(masked))
    return keras.Model([ids, frames], L.Dense(1)(L.Concatenate()([text, audio])))


def initial_states():
    """An LSTM's states fed as another LSTM's initial_state (keyword tensors), the second on a
    masked sequence (Keras then passes it no mask)."""
    seq, ids = keras.Input((5, 3)), keras.Input((5,), dtype="int32")
    _, h, c = L.LSTM(3, return_state=True)(seq)
    emb = L.Embedding(8, 3, mask_zero=True)(ids)
    return keras.Model([seq, ids], L.LSTM(3)(emb, initial_state=[h, c]))


def rnn_cells():
    """RNN over stacked cells and over one cell."""
    x = keras.Input((5, 3))
    y = L.RNN([L.LSTMCell(3), L.GRUCell(2, reset_after=False)], return_sequences=True)(x)
    return keras.Model(x, L.Dense(1)(L.RNN(L.SimpleRNNCell(2), go_backwards=True)(y)))


BUILDERS = {
    "branches": branches,
    "shared": shared.branches_and_shared,
    "sequential_in_functional": shared.sequential_in_functional,
    "functional_in_sequential": shared.functional_in_sequential,
    "conv_bn": shared.conv_bn,
    "multi_io": multi_io,
    "masked_text": masked_text,
    "initial_states": initial_states,
    "rnn_cells": rnn_cells,
}


def build(name: str):
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    return randomize_weights(BUILDERS[name](), seed=0)


def inputs_for(model, seed: int = 1) -> list[np.ndarray]:
    """Seeded inputs: N(0, 1) floats with some all-zero timesteps, ids with zeros (padding)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for tensor in model.inputs:
        shape = (3, *tensor.shape[1:])
        if "int" in str(tensor.dtype):
            ids = rng.integers(1, 8, size=shape)
            ids[0, -2:], ids[1, :2], ids[2, 1] = 0, 0, 0
            arrays.append(ids.astype(np.int32))
        else:
            x = rng.normal(size=shape).astype(np.float32)
            if len(shape) == 3:
                x[0, 1], x[2, -1] = 0.0, 0.0
            arrays.append(x)
    return arrays


def layer_tensors(model) -> list[tuple[str, list[list]]]:
    """(layer name, [output tensors of each of its calls in this model]) in model.layers order,
    InputLayers left out — as the worker collects them."""
    from keras.src.ops.function import make_node_key

    graph = model._functional if isinstance(model, keras.Sequential) else model
    found = []
    for layer in model.layers:
        if isinstance(layer, L.InputLayer):
            continue
        calls = [
            keras.tree.flatten(node.output_tensors)
            for i, node in enumerate(layer._inbound_nodes)
            if make_node_key(layer, i) in graph._nodes
        ]
        found.append((layer.name, calls))
    return found


def as_arg(inputs: list[np.ndarray]):
    """What a model built on `keras.Input` objects takes: the array for one, else the list
    (a model built on `model.inputs`, a list, takes a list)."""
    return inputs[0] if len(inputs) == 1 else list(inputs)


def keras_layer_outputs(model, inputs, training: bool = False) -> dict[str, list[list]]:
    """Every layer's outputs from one model over all of them: `predict`, or a call with
    training=True."""
    entries = layer_tensors(model)
    tensors = [t for _, calls in entries for call in calls for t in call]
    probe = keras.Model(model.inputs, tensors)
    if training:
        arrays = [keras.ops.convert_to_numpy(a) for a in probe(list(inputs), training=True)]
    else:
        arrays = probe.predict(list(inputs), batch_size=len(inputs[0]), verbose=0)
    arrays = list(arrays) if isinstance(arrays, list | tuple) else [arrays]
    grouped, i = {}, 0
    for name, calls in entries:
        grouped[name] = []
        for call in calls:
            grouped[name].append(arrays[i : i + len(call)])
            i += len(call)
    return grouped
