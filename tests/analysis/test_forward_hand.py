"""Each layer's `forward` object (app.analysis.forward, app.hand): the settings line, formula,
shapes and conventions of models built in Keras, against strings written out by hand."""

from __future__ import annotations

import json

import numpy as np

from app.analysis.breakdown import layer_reports
from app.analysis.resolve import resolve
from app.explain import explain_file
from app.formats.config import parse_model
from app.schemas import LayerForward
from tests.support.kerasref import keras

layers = keras.layers


def forwards(model) -> dict[str, LayerForward]:
    """Layer name → its forward object, from the model's to_json() spec (no weights file)."""
    graph = parse_model(json.loads(model.to_json()))
    resolve(graph, weights_in_file=False)
    return {r.name: r.forward for r in layer_reports(graph) if r.forward is not None}


def one(*stack) -> LayerForward:
    """The forward object of the last layer of `Sequential(stack)`."""
    model = keras.Sequential(list(stack))
    return forwards(model)[model.layers[-1].name]


def test_dense_relu():
    fw = one(keras.Input((4096,)), layers.Dense(512, activation="relu"))
    assert fw.settings == "relu"
    assert fw.formula == "y = relu(x · kernel + bias)"
    assert fw.shapes == "x (None, 4096) · kernel (4096, 512) · bias (512,) → y (None, 512)"
    assert fw.conventions == [
        "kernel is (in, out): y = x · kernel multiplies the last axis of x by the kernel's rows "
        "(PyTorch's Linear stores the transpose, (out, in))."
    ]
    assert fw.function == "core.dense"
    assert fw.code.startswith("def dense(config: Config, weights: Weights, inputs")
    assert "activations.apply_activation" in fw.helpers


def test_dense_without_bias_says_so():
    fw = one(keras.Input((3,)), layers.Dense(2, use_bias=False))
    assert fw.settings == "linear · no bias"
    assert fw.formula == "y = x · kernel"
    assert fw.shapes == "x (None, 3) · kernel (3, 2) → y (None, 2)"


def test_conv2d_same_padding_stride_2_gives_the_extra_row_at_the_end():
    fw = one(
        keras.Input((9, 10, 3)),
        layers.Conv2D(8, 4, strides=2, padding="same", activation="relu", use_bias=False),
    )
    assert fw.settings == "relu · kernel_size 4 · strides 2 · padding same · no bias"
    assert fw.formula == (
        "y[n, i, j, o] = relu(Σ_{di, dj, c} x_pad[n, 2·i + di, 2·j + dj, c] · kernel[di, dj, c, o])"
    )
    assert fw.shapes == "x (None, 9, 10, 3) · kernel (4, 4, 3, 8) → y (None, 5, 5, 8)"
    # rows: out ⌈9/2⌉ = 5, padding (5 − 1)·2 + 4 − 9 = 3 → 1 before, 2 after;
    # columns: out ⌈10/2⌉ = 5, padding (5 − 1)·2 + 4 − 10 = 2 → 1 and 1.
    assert fw.conventions == [
        "kernel is (kh, kw, in, filters).",
        "Keras convolution is cross-correlation: the kernel is not flipped "
        "(scipy.signal.convolve and the textbook convolution flip it).",
        "padding same (TensorFlow's rule): x_pad is x with zeros around it; the output has "
        "⌈size / strides⌉ positions, and when the padding needed is odd (an even kernel, or "
        "strides > 1) the extra one goes at the end (bottom/right), where PyTorch's symmetric "
        "padding cannot put it; here: rows 1 before and 2 after, columns 1 before and 1 after.",
    ]


def test_depthwise_conv2d_layout():
    fw = one(keras.Input((5, 5, 3)), layers.DepthwiseConv2D(3, depth_multiplier=2))
    assert fw.settings == "linear · kernel_size 3 · strides 1 · padding valid · depth_multiplier 2"
    assert fw.formula == (
        "y[n, i, j, c·m + q] = Σ_{di, dj} x[n, i + di, j + dj, c] · kernel[di, dj, c, q] "
        "+ bias[c·m + q]"
    )
    assert fw.conventions[0] == (
        "kernel (Keras' depthwise_kernel) is (kh, kw, in, depth_multiplier): each input channel "
        "c has its own 2 filter(s); output channel c·m + q, m = 2."
    )


def test_lstm_gate_order_with_its_units():
    fw = one(keras.Input((5, 2)), layers.LSTM(3))
    assert fw.settings == "units 3 · activation tanh · recurrent_activation sigmoid"
    assert fw.formula == (
        "z = x_t · kernel + h_{t−1} · recurrent_kernel + bias; "
        "i = sigmoid(z_i), f = sigmoid(z_f), o = sigmoid(z_o); "
        "c_t = f · c_{t−1} + i · tanh(z_c); h_t = o · tanh(c_t)"
    )
    assert fw.shapes == (
        "x (None, 5, 2) · kernel (2, 12) · recurrent_kernel (3, 12) · bias (12,) → y (None, 3)"
    )
    assert fw.conventions[0] == (
        "The gates sit side by side in kernel (features, 4·units), recurrent_kernel "
        "(units, 4·units) and bias (4·units,) in the order i, f, c, o: "
        "i [0:3], f [3:6], c [6:9], o [9:12]."
    )


def test_lstm_hard_sigmoid_is_keras_3s():
    fw = one(keras.Input((5, 2)), layers.LSTM(3, recurrent_activation="hard_sigmoid"))
    assert "i = hard_sigmoid(z_i)" in fw.formula
    assert (
        "Keras 3's hard_sigmoid is relu6(x + 3) / 6 (Keras 2's was clip(0.2·x + 0.5, 0, 1))."
        in fw.conventions
    )


def test_gru_reset_after_and_gate_order():
    fw = one(keras.Input((5, 2)), layers.GRU(2, return_sequences=True))
    assert fw.settings == (
        "units 2 · activation tanh · recurrent_activation sigmoid · reset_after True "
        "· return_sequences"
    )
    assert fw.formula == (
        "z = sigmoid(x_t · kernel_z + h_{t−1} · recurrent_kernel_z + b_z), "
        "r = sigmoid(x_t · kernel_r + h_{t−1} · recurrent_kernel_r + b_r); "
        "h̃ = tanh(x_t · kernel_h + b_h + r · (h_{t−1} · recurrent_kernel_h + rb_h)); "
        "h_t = z · h_{t−1} + (1 − z) · h̃"
    )
    assert fw.shapes == (
        "x (None, 5, 2) · kernel (2, 6) · recurrent_kernel (2, 6) · bias (2, 6) → y (None, 5, 2)"
    )
    assert fw.conventions[:2] == [
        "The gates sit side by side in the order z, r, h: z [0:2], r [2:4], h [4:6] "
        "(PyTorch orders r, z, n).",
        "reset_after True: the reset gate is applied after the recurrent multiplication; "
        "bias is (2, 3·units): row 0 is added to x_t · kernel, "
        "row 1 to h_{t−1} · recurrent_kernel.",
    ]


def test_gru_reset_before():
    fw = one(keras.Input((5, 2)), layers.GRU(2, reset_after=False))
    assert "h̃ = tanh(x_t · kernel_h + b_h + (r · h_{t−1}) · recurrent_kernel_h)" in fw.formula
    assert "bias (6,)" in fw.shapes


def test_bidirectional_says_which_direction_each_weight_belongs_to():
    fw = one(
        keras.Input((4, 2)),
        layers.Bidirectional(layers.LSTM(3, return_sequences=True, name="lstm")),
    )
    assert fw.settings == (
        "layer LSTM · merge_mode concat · units 3 · activation tanh · "
        "recurrent_activation sigmoid · return_sequences"
    )
    assert fw.formula.startswith(
        "y_forward = LSTM(x) with the forward weights; y_backward = LSTM(x read from the last "
        "timestep to the first) with the backward weights; "
        "y = concat([y_forward, y_backward], axis −1). Each direction: z = x_t · kernel"
    )
    assert fw.conventions[:3] == [
        "Forward direction weights: forward_lstm/lstm_cell/kernel, "
        "forward_lstm/lstm_cell/recurrent_kernel, forward_lstm/lstm_cell/bias.",
        "Backward direction weights: backward_lstm/lstm_cell/kernel, "
        "backward_lstm/lstm_cell/recurrent_kernel, backward_lstm/lstm_cell/bias.",
        "get_weights() lists the forward layer's weights first, then the backward's.",
    ]
    assert fw.shapes == (
        "x (None, 4, 2) · forward_lstm/lstm_cell/kernel (2, 12) · "
        "forward_lstm/lstm_cell/recurrent_kernel (3, 12) · forward_lstm/lstm_cell/bias (12,) · "
        "backward_lstm/lstm_cell/kernel (2, 12) · backward_lstm/lstm_cell/recurrent_kernel (3, 12) "
        "· backward_lstm/lstm_cell/bias (12,) → y (None, 4, 6)"
    )


def test_batchnormalization_seed_formula():
    fw = one(keras.Input((2,)), layers.BatchNormalization(axis=1))
    assert fw.settings == "axis 1 · epsilon 0.001"
    assert fw.formula == "y = gamma · (x − moving_mean) / √(moving_variance + 0.001) + beta"
    assert fw.shapes == (
        "x (None, 2) · gamma (2,) · beta (2,) · moving_mean (2,) · moving_variance (2,) "
        "→ y (None, 2)"
    )
    assert fw.conventions[0] == (
        "One gamma, beta, moving_mean and moving_variance per channel: the 2 channels along "
        "axis 1, broadcast over every other axis."
    )


def test_batchnormalization_without_scale_and_center():
    fw = one(keras.Input((3,)), layers.BatchNormalization(scale=False, center=False, epsilon=0.01))
    assert fw.settings == "axis -1 · epsilon 0.01 · no gamma (scale False) · no beta (center False)"
    assert fw.formula == "y = (x − moving_mean) / √(moving_variance + 0.01)"


def test_batchnormalization_values_from_the_file(tmp_path):
    model = keras.Sequential([keras.Input((2,)), layers.BatchNormalization(axis=1)])
    model.layers[-1].set_weights(
        [np.array(v, dtype=np.float32) for v in ([2, 0.5], [0.1, -1], [1, 3], [4, 0.25])]
    )
    path = tmp_path / "bn.keras"
    model.save(path)
    fw = explain_file(path).report.layers[-1].forward
    assert fw.values == [
        "gamma = [2, 0.5]",
        "beta = [0.1, -1]",
        "moving_mean = [1, 3]",
        "moving_variance = [4, 0.25]",
    ]


def test_batchnormalization_of_a_spec_lists_its_initializers_values():
    """The seed question (DESIGN.md): a spec stores no weights, and BatchNormalization's
    initializers are constants, which Keras gives a fresh layer: gamma 1, beta 0,
    moving_mean 0, moving_variance 1."""
    fw = one(keras.Input((2,)), layers.BatchNormalization(axis=1))
    assert fw.formula == "y = gamma · (x − moving_mean) / √(moving_variance + 0.001) + beta"
    note = " (initializer)"
    assert fw.values == [
        f"gamma = [1, 1]{note}",
        f"beta = [0, 0]{note}",
        f"moving_mean = [0, 0]{note}",
        f"moving_variance = [1, 1]{note}",
    ]


def test_a_spec_lists_no_values_for_a_random_initializer():
    fw = one(keras.Input((2,)), layers.Dense(3))  # kernel: glorot_uniform; bias: zeros
    assert fw.values == ["bias = [0, 0, 0] (initializer)"]


def test_dropout_is_the_identity_at_inference():
    fw = one(keras.Input((3,)), layers.Dropout(0.5))
    assert fw.settings == "rate 0.5"
    assert fw.formula == "y = x"
    assert fw.conventions == [
        "At inference (predict, or training=False) the layer is the identity: nothing is dropped "
        "and nothing is rescaled (Keras scales the kept values by 1 / (1 − rate) during training "
        "instead)."
    ]


def test_flatten_channels_last_order():
    fw = one(keras.Input((2, 3, 4)), layers.Flatten())
    assert fw.settings == "no settings"
    assert fw.formula == "y = x.reshape((N, −1))"
    assert fw.shapes == "x (None, 2, 3, 4) → y (None, 24)"
    assert fw.conventions == [
        "Flatten order follows data_format channels_last: row-major over (…spatial, channel), "
        "the channel index changing fastest (PyTorch's NCHW flattens channel first)."
    ]


def test_flatten_channels_first_moves_channels_last_first():
    fw = one(keras.Input((2, 3, 4)), layers.Flatten(data_format="channels_first"))
    assert fw.settings == "channels_first"
    assert fw.formula == "y = moveaxis(x, 1, −1).reshape((N, −1))"


def test_input_layer_has_no_forward():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Dense(2)(inputs))
    graph = parse_model(json.loads(model.to_json()))
    resolve(graph, weights_in_file=False)
    assert [r.forward is None for r in layer_reports(graph)] == [True, False]
