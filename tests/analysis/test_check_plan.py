"""The check runs from the plan made when the model was read: it must say what Keras says."""

from __future__ import annotations

import pytest

from app.explain import explain_file
from tests.support.kerasref import keras

layers = keras.layers


def two_input_model():
    ids = keras.Input((6,), dtype="int32", name="ids")
    image = keras.Input((None, None, 3), name="image")
    words = layers.GlobalAveragePooling1D()(layers.Embedding(11, 4)(ids))
    pixels = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3)(image))
    joined = layers.Concatenate()([words, pixels])
    return keras.Model([ids, image], [layers.Dense(2)(joined), pixels])


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_the_plan_of_a_file_agrees_with_the_keras_model(tmp_path, suffix):
    model = two_input_model()
    path = tmp_path / f"two{suffix}"
    model.save(path)
    plan = explain_file(path).read.plan  # made in the throwaway process, as for an upload
    assert [(i.name, i.batch_shape, i.dtype) for i in plan.inputs] == [
        (t.name, list(t.shape), t.dtype) for t in model.inputs
    ]
    assert [i.vocabulary for i in plan.inputs] == [11, None]
    assert plan.compared.layers == [
        (layer.name, type(layer).__name__)
        for layer in model.layers
        if not isinstance(layer, layers.InputLayer)
    ]
    outputs = [t._keras_history.operation.name for t in model.outputs]
    assert plan.compared.outputs == outputs
