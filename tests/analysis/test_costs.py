"""MACs, FLOPs, output bytes and peak activation memory (issue 16), every count worked out by
hand in the test from the layer's numbers (batch 1; the convention is app/costs/rules.py's:
FLOPs = 2 × MACs + bias adds + activations + the other element-wise steps)."""

from __future__ import annotations

import json

from app.analysis.breakdown import layer_reports, totals
from app.analysis.resolve import resolve
from app.formats.config import parse_model
from tests.support.kerasref import keras

L = keras.layers


def report(model) -> dict:
    graph = parse_model(json.loads(model.to_json()))
    resolve(graph, weights_in_file=False)
    return {layer.name: layer for layer in layer_reports(graph, with_stats=False)}


def graph_totals(model):
    graph = parse_model(json.loads(model.to_json()))
    resolve(graph, weights_in_file=False)
    return totals(graph)


def one(shape, layer):
    """The report of `layer` alone on an input of `shape` (batch excluded)."""
    model = keras.Sequential([keras.Input(shape), layer])
    return report(model)[layer.name]


def test_dense_counts_input_dim_products_per_output_plus_bias_and_activation():
    found = one((16,), L.Dense(8, activation="relu"))
    assert found.macs == 8 * 16  # 128
    assert found.flops == 2 * 128 + 8 + 8  # bias adds, relu
    assert found.output_bytes == 8 * 4
    assert found.macs_formula == "8 outputs × 16 = 128 MACs"


def test_dense_on_a_sequence_counts_every_step_and_no_bias_when_use_bias_is_false():
    found = one((5, 16), L.Dense(8, use_bias=False))
    assert found.macs == 5 * 8 * 16  # 640
    assert found.flops == 2 * 640


def test_conv1d_strides_and_causal_dilation():
    strided = one((10, 4), L.Conv1D(6, 3, strides=2))
    # length ⌊(10 − 3) / 2⌋ + 1 = 4; each output sums 3 × 4 products
    assert strided.macs == 4 * 6 * (3 * 4)  # 288
    assert strided.flops == 2 * 288 + 4 * 6  # bias adds
    dilated = one((10, 4), L.Conv1D(6, 3, dilation_rate=2, padding="causal"))
    assert dilated.macs == 10 * 6 * (3 * 4)  # causal keeps the length: 720


def test_conv2d_first_resnet_convolution_matches_the_issue_example():
    model = keras.Sequential(
        [
            keras.Input((224, 224, 3)),
            L.ZeroPadding2D(3, name="pad"),
            L.Conv2D(64, 7, strides=2, name="c"),
        ]
    )
    found = report(model)["c"]
    # 230 − 7 = 223, ⌊223 / 2⌋ + 1 = 112
    assert found.macs == 112 * 112 * 64 * (7 * 7 * 3) == 118_013_952
    assert found.macs_formula == "112 × 112 × 64 outputs × (7 × 7 × 3) = 118,013,952 MACs"
    assert found.flops == 2 * 118_013_952 + 112 * 112 * 64  # + bias adds = 236,830,720
    assert report(model)["pad"].macs == 0  # named: Keras' default name depends on what ran before


def test_conv2d_same_padding_strides_groups_and_dilation():
    same = one((9, 9, 3), L.Conv2D(8, 3, strides=2, padding="same", activation="relu"))
    # ⌈9 / 2⌉ = 5: 5 × 5 × 8 = 200 outputs, each 3 × 3 × 3 = 27 products
    assert same.macs == 200 * 27  # 5,400
    assert same.flops == 2 * 5400 + 200 + 200
    grouped = one((6, 6, 8), L.Conv2D(4, 3, groups=2, use_bias=False))
    # 4 × 4 × 4 = 64 outputs, each sees 8 / 2 = 4 channels: 3 × 3 × 4 = 36 products
    assert grouped.macs == 64 * 36  # 2,304
    assert grouped.flops == 2 * 2304
    dilated = one((10, 10, 2), L.Conv2D(3, 3, dilation_rate=2))
    # effective kernel 2 · (3 − 1) + 1 = 5: 10 − 5 + 1 = 6, so 6 × 6 × 3 = 108 outputs
    assert dilated.macs == 108 * (3 * 3 * 2)  # 1,944


def test_conv3d():
    found = one((4, 5, 6, 2), L.Conv3D(3, (2, 3, 3)))
    # (4 − 1, 5 − 2, 6 − 2) × 3 filters = 3 × 3 × 4 × 3 = 108 outputs; 2 × 3 × 3 × 2 = 36 each
    assert found.macs == 108 * 36  # 3,888
    assert found.flops == 2 * 3888 + 108


def test_depthwise_conv2d_counts_one_input_channel_per_output():
    found = one((8, 8, 3), L.DepthwiseConv2D(3, depth_multiplier=2, padding="same"))
    # 8 × 8 × (3 · 2) = 384 outputs, each 3 × 3 = 9 products
    assert found.macs == 384 * 9  # 3,456
    assert found.flops == 2 * 3456 + 384


def test_separable_conv2d_is_its_depthwise_and_pointwise_steps():
    found = one((8, 8, 3), L.SeparableConv2D(5, 3, depth_multiplier=2))
    depthwise = 6 * 6 * 6 * 9  # 6 × 6 positions × (3 · 2) channels, 3 × 3 each: 1,944
    pointwise = 6 * 6 * 5 * 6  # 6 × 6 × 5 outputs, each over 6 channels: 1,080
    assert found.macs == depthwise + pointwise == 3024
    assert found.flops == 2 * 3024 + 6 * 6 * 5


def test_conv2d_transpose_scatters_every_input_into_kernel_times_filters():
    found = one((4, 4, 3), L.Conv2DTranspose(2, 3, strides=2))
    # output length (4 − 1) · 2 + 3 = 9; 4 × 4 × 3 = 48 inputs, each × 3 × 3 × 2 = 18
    assert found.macs == 48 * 18  # 864
    assert found.flops == 2 * 864 + 9 * 9 * 2  # bias adds on the 162 outputs


def test_lstm_per_step_times_steps():
    found = one((7, 5), L.LSTM(4))
    per_step = 4 * 4 * (5 + 4)  # 4 gates × 4 units × (5 inputs + 4 recurrent): 144
    assert found.macs == 7 * per_step  # 1,008
    # per step: bias 4 × 4, activations 4 gates + tanh(c) = 5 × 4, state updates
    # c = f·c + i·g and h = o·tanh(c): 4 × 4
    assert found.flops == 7 * (2 * 144 + 16 + 20 + 16)  # 2,380


def test_gru_per_step_times_steps_with_reset_after_biases():
    found = one((6, 2), L.GRU(3))
    assert found.macs == 6 * (3 * 3 * (2 + 3))  # 45 per step: 270
    # per step: 2 × 9 biases (reset_after), 9 activations, 5 × 3 state updates
    assert found.flops == 6 * (2 * 45 + 18 + 9 + 15)  # 792


def test_simple_rnn_per_step_times_steps():
    found = one((4, 3), L.SimpleRNN(5))
    assert found.macs == 4 * (5 * (3 + 5))  # 160
    assert found.flops == 4 * (2 * 40 + 5 + 5)  # bias, tanh: 360


def test_multi_head_attention_counts_projections_and_both_contractions():
    query, value = keras.Input((6, 8)), keras.Input((4, 10))
    out = L.MultiHeadAttention(num_heads=2, key_dim=3, name="mha")(query, value)
    found = report(keras.Model([query, value], out))["mha"]
    projections = 6 * 8 * 2 * 3 + 4 * 10 * 2 * 3 + 4 * 10 * 2 * 3  # query, key, value
    scores = 2 * 6 * 4 * 3  # heads × query positions × key positions × key_dim
    weighted = 2 * 6 * 4 * 3  # the same with value_dim (= key_dim)
    output = 6 * 2 * 3 * 8  # back to the query's 8 features
    assert found.macs == projections + scores + weighted + output == 1344
    softmax, scaling = 2 * 6 * 4, 6 * 2 * 3
    biases = 6 * 2 * 3 + 4 * 2 * 3 + 4 * 2 * 3 + 6 * 8
    assert found.flops == 2 * 1344 + softmax + scaling + biases  # 2,904


def test_batch_normalization_is_a_scale_and_an_offset_per_element():
    found = one((5, 5, 4), L.BatchNormalization())
    assert found.macs == 0
    assert found.flops == 2 * 5 * 5 * 4  # 200


def test_pooling_counts_its_window_per_output():
    max_pool = one((6, 6, 3), L.MaxPooling2D(2))
    assert max_pool.flops == 3 * 3 * 3 * (2 * 2)  # 27 outputs × 4 comparisons
    average = one((5, 5, 2), L.AveragePooling2D(3, strides=1))
    assert average.flops == 3 * 3 * 2 * 9 + 3 * 3 * 2  # additions, then a division each
    whole = one((4, 4, 3), L.GlobalAveragePooling2D())
    assert whole.flops == 4 * 4 * 3 + 3
    assert max_pool.macs == average.macs == whole.macs == 0


def test_merges_and_reshapes():
    a, b = keras.Input((4,)), keras.Input((4,))
    added = L.Add(name="add")([a, b])
    joined = L.Concatenate(name="cat")([a, added])
    flat = L.Flatten(name="flat")(L.Reshape((2, 4), name="reshape")(joined))
    found = report(keras.Model([a, b], flat))
    assert (found["add"].macs, found["add"].flops) == (0, 4)
    assert [found[n].flops for n in ("cat", "reshape", "flat")] == [0, 0, 0]


def test_an_unknown_dimension_is_counted_at_32_and_said():
    found = one((None, 3), L.Dense(2))
    assert found.macs == 32 * 2 * 3  # 192
    assert found.macs_formula.endswith("(unknown dimensions counted as 32)")


def test_totals_sum_the_layers():
    model = keras.Sequential([keras.Input((16,)), L.Dense(8), L.Dense(2)])
    result = graph_totals(model)
    assert result.macs == 16 * 8 + 8 * 2
    assert result.flops == 2 * 144 + 8 + 2
    assert result.cost_unknown == []


def test_peak_activation_memory_frees_a_chain_as_it_goes():
    model = keras.Sequential([keras.Input((16,)), L.Dense(64), L.Dense(32), L.Dense(4)])
    # float32: input 64 B, then 256 B, 128 B, 16 B; the peak is a layer's input and output
    # alive together: 256 + 128 (the 64 B input is freed once the first Dense has run)
    assert graph_totals(model).peak_activation_bytes == 256 + 128


def test_peak_activation_memory_keeps_a_tensor_until_its_last_use():
    x = keras.Input((8,))
    a = L.Dense(16)(x)
    b = L.Dense(16)(a)
    c = L.Add()([a, b])
    # a (64 B) is still needed by Add when b is made: a + b + c = 192 B alive at once
    assert graph_totals(keras.Model(x, c)).peak_activation_bytes == 64 * 3


def test_a_shared_layer_costs_once_per_call():
    a, b = keras.Input((4,)), keras.Input((4,))
    shared = L.Dense(3, use_bias=False, name="shared")
    found = report(keras.Model([a, b], L.Add()([shared(a), shared(b)])))["shared"]
    assert found.macs == 2 * (3 * 4)  # two calls of 3 outputs × 4 inputs
    assert found.macs_formula.startswith("2 calls: ")
    assert found.output_bytes == 2 * 3 * 4  # two float32 outputs of 3 values


def test_a_nested_model_sums_its_layers():
    inner = keras.Sequential([keras.Input((8,)), L.Dense(4), L.BatchNormalization()], name="inner")
    x = keras.Input((8,))
    found = report(keras.Model(x, L.Dense(2, name="head")(inner(x))))
    assert found["inner"].macs == 4 * 8  # the Dense inside; BatchNormalization has none
    assert found["inner"].flops == 2 * 32 + 4 + 2 * 4  # + its bias adds + BN's scale and offset
    assert found["head"].macs == 2 * 4


def test_wrappers_cost_what_they_wrap():
    both = one((3, 4), L.Bidirectional(L.SimpleRNN(2)))
    assert both.macs == 2 * 3 * (2 * (4 + 2))  # 2 directions × 3 steps × 12 per step: 72
    each = one((6, 3), L.TimeDistributed(L.Dense(5, use_bias=False)))
    assert each.macs == 6 * (5 * 3)  # 6 steps × 5 outputs × 3 inputs: 90
