"""Keras 2 files that Keras 3 refuses for config reasons still get a full breakdown."""

from __future__ import annotations

import numpy as np
import pytest

from app.formats import read_model
from tests.support.files import as_keras2_file
from tests.support.kerascompare import keras_totals, resolved, totals
from tests.support.kerasref import keras
from tests.support.models import randomize_weights


def add_time_major(layer):
    if layer["class_name"] in ("LSTM", "GRU", "SimpleRNN"):
        layer["config"]["time_major"] = False


@pytest.mark.parametrize("rnn", ["LSTM", "GRU", "SimpleRNN"])
def test_rnn_saved_with_time_major_is_refused_by_keras3_but_explained(tmp_path, rnn):
    model = randomize_weights(
        keras.Sequential(
            [keras.Input((7, 5)), getattr(keras.layers, rnn)(4), keras.layers.Dense(2)]
        )
    )
    path = as_keras2_file(model, tmp_path / "rnn.h5", add_time_major)
    with pytest.raises(Exception):  # noqa: B017  (Keras' own refusal, whatever its type)
        keras.saving.load_model(path, compile=False)
    with read_model(path) as loaded:
        graph = resolved(loaded)
        assert totals(graph) == keras_totals(model)
        weights = [w for _, node in graph.walk() for w in node.weights]
        for ours, theirs in zip(weights, model.get_weights(), strict=True):
            np.testing.assert_array_equal(np.asarray(ours.values[...]), theirs)
    assert loaded.keras_version == "2.4.0"


def test_depthwise_conv_with_groups_1_is_explained(tmp_path):
    def add_groups(layer):
        if layer["class_name"] == "DepthwiseConv2D":
            layer["config"]["groups"] = 1

    model = randomize_weights(
        keras.Sequential([keras.Input((6, 6, 3)), keras.layers.DepthwiseConv2D(3)])
    )
    path = as_keras2_file(model, tmp_path / "dw.h5", add_groups)
    with pytest.raises(Exception):  # noqa: B017
        keras.saving.load_model(path, compile=False)
    with read_model(path) as loaded:
        assert totals(resolved(loaded)) == keras_totals(model) == (30, 30, 0)
