"""Recurrent layers and wrappers: the registry's weights and output shapes against Keras."""

from __future__ import annotations

import copy
import json

import pytest

from app.layers.registry import lookup
from tests.support.kerascompare import registry_facts
from tests.support.kerasref import layer_facts


def flat_shapes(shape):
    """Keras nests the states of stacked cells; a graph's tensor indices count them flat."""
    if isinstance(shape, tuple):
        return shape
    out = []
    for item in shape:
        item = flat_shapes(item)
        out += item if isinstance(item, list) else [item]
    return out


def assert_matches_keras(class_name: str, config: dict, shapes: list) -> None:
    ours = registry_facts(class_name, config, shapes)
    keras = layer_facts(class_name, copy.deepcopy(config), shapes)  # from_config pops keys
    assert ours["weights"] == keras["weights"]
    assert ours["output_shape"] == flat_shapes(keras["output_shape"])


SEQ = [(None, 5, 3)]

SIMPLE_CASES = [
    ("SimpleRNN", {"units": 4}),
    ("SimpleRNN", {"units": 4, "use_bias": False, "return_sequences": True}),
    ("SimpleRNN", {"units": 2, "return_state": True, "go_backwards": True}),
    ("LSTM", {"units": 4}),
    ("LSTM", {"units": 4, "use_bias": False}),
    ("LSTM", {"units": 4, "return_sequences": True, "return_state": True}),
    ("LSTM", {"units": 3, "return_state": True, "unit_forget_bias": False}),
    ("LSTM", {"units": 3, "recurrent_activation": "hard_sigmoid", "unroll": True}),
    ("GRU", {"units": 4}),
    ("GRU", {"units": 4, "reset_after": False}),
    ("GRU", {"units": 4, "reset_after": False, "use_bias": False}),
    ("GRU", {"units": 4, "return_sequences": True, "return_state": True}),
    ("GRU", {"units": 2, "go_backwards": True, "return_state": True, "reset_after": False}),
]


@pytest.mark.parametrize(("class_name", "config"), SIMPLE_CASES)
def test_recurrent_layer_weights_match_keras(class_name, config):
    assert_matches_keras(class_name, config, SEQ)


def test_stateful_layer_adds_no_weight():
    assert_matches_keras("LSTM", {"units": 3, "stateful": True}, [(2, 5, 3)])


def test_recurrent_layer_ignores_initial_state_inputs():
    shapes = [(None, 5, 3), (None, 4), (None, 4)]
    ours = registry_facts("LSTM", {"units": 4, "return_sequences": True}, shapes)
    assert ours == registry_facts("LSTM", {"units": 4, "return_sequences": True}, SEQ)


def test_lstm_weights_by_hand():
    facts = registry_facts("LSTM", {"units": 20}, [(None, 8, 32)])
    assert facts["weights"] == [
        ("lstm_cell/kernel", (32, 80), True),
        ("lstm_cell/recurrent_kernel", (20, 80), True),
        ("lstm_cell/bias", (80,), True),
    ]


@pytest.mark.parametrize(
    ("config", "bias"),
    [
        ({"units": 4, "reset_after": True}, (2, 12)),
        ({"units": 4, "reset_after": False}, (12,)),
        ({"units": 4}, (2, 12)),  # a hand-written spec: Keras 3's default
        ({"units": 4, "implementation": 1}, (12,)),  # Keras 2.0-2.1.4: no reset_after yet
        ({"units": 4, "implementation": 2, "reset_after": True}, (2, 12)),
    ],
)
def test_gru_bias_follows_reset_after(config, bias):
    specs = lookup("GRU").weights(config, SEQ)
    assert [s.shape for s in specs if s.role == "bias"] == [bias]


@pytest.mark.parametrize(
    ("config", "output"),
    [
        ({"units": 4, "time_major": False}, (None, 4)),
        ({"units": 4, "time_major": True, "return_sequences": True}, (5, None, 4)),
        ({"units": 4, "time_major": True, "implementation": 2}, (None, 4)),
    ],
)
def test_keras2_time_major_swaps_batch_and_steps(config, output):
    shapes = [(5, None, 3)] if config["time_major"] else [(None, 5, 3)]
    facts = registry_facts("LSTM", config, shapes)
    assert facts["output_shape"] == output
    assert facts["weights"][0] == ("lstm_cell/kernel", (3, 16), True)


def cell(class_name: str, **config) -> dict:
    """A nested config as Keras 3 writes it (Keras 2 has no `module`, which we do not need)."""
    return {"module": "keras.layers", "class_name": class_name, "config": config}


RNN_CASES = [
    {"cell": cell("SimpleRNNCell", units=4, name="simple_rnn_cell")},
    {"cell": cell("LSTMCell", units=4, name="lstm_cell"), "return_state": True},
    {"cell": cell("GRUCell", units=4, name="my_gru", reset_after=False)},
    {"cell": cell("GRUCell", units=4, name="gru_cell", use_bias=False), "return_sequences": True},
    {
        "cell": cell(
            "StackedRNNCells",
            name="stacked_rnn_cells",
            cells=[
                cell("LSTMCell", units=4, name="lstm_cell"),
                cell("GRUCell", units=3, name="gru_cell"),
                cell("LSTMCell", units=2, name="lstm_cell_1"),
            ],
        ),
        "return_state": True,
        "return_sequences": True,
    },
]


@pytest.mark.parametrize("config", RNN_CASES)
def test_rnn_with_cell_weights_match_keras(config):
    assert_matches_keras("RNN", config, SEQ)


def test_stacked_cells_owners_count_each_class():
    config = RNN_CASES[-1]
    owners = [s.owner for s in lookup("RNN").weights(config, SEQ)]
    assert (
        owners
        == ["cell/cells/lstm_cell"] * 3
        + ["cell/cells/gru_cell"] * 3
        + ["cell/cells/lstm_cell_1"] * 3
    )


CONV_LSTM_CASES = [  # (class_name, config, input shapes)
    ("ConvLSTM1D", {"filters": 2, "kernel_size": 3}, [(None, 4, 8, 3)]),
    ("ConvLSTM1D", {"filters": 2, "kernel_size": 3, "padding": "same", "strides": 2}, [(None, 4, 9, 3)]),  # noqa: E501
    ("ConvLSTM2D", {"filters": 2, "kernel_size": [3, 2], "return_sequences": True}, [(None, 4, 6, 5, 3)]),  # noqa: E501
    ("ConvLSTM2D", {"filters": 2, "kernel_size": 3, "use_bias": False, "dilation_rate": 2}, [(None, 4, 7, 7, 1)]),  # noqa: E501
    ("ConvLSTM2D", {"filters": 2, "kernel_size": 3, "return_state": True}, [(None, 4, 6, 6, 3)]),
    ("ConvLSTM3D", {"filters": 1, "kernel_size": 2}, [(None, 3, 4, 4, 4, 2)]),
]  # fmt: skip


@pytest.mark.parametrize(("class_name", "config", "shapes"), CONV_LSTM_CASES)
def test_conv_lstm_weights_match_keras(class_name, config, shapes):
    assert_matches_keras(class_name, config, shapes)


def test_conv_lstm_channels_first_shapes_by_hand():
    config = {"filters": 2, "kernel_size": 3, "data_format": "channels_first"}
    facts = registry_facts("ConvLSTM2D", config, [(None, 4, 3, 6, 5)])
    assert facts["weights"][0] == ("conv_lstm_cell/kernel", (3, 3, 3, 8), True)
    assert facts["output_shape"] == (None, 2, 4, 3)


layer = cell


BIDIRECTIONAL_CASES = [
    {"layer": layer("LSTM", units=4, name="lstm")},
    {"layer": layer("LSTM", units=4, name="lstm", return_sequences=True), "merge_mode": "sum"},
    {"layer": layer("GRU", units=4, name="gru", return_state=True), "merge_mode": "mul"},
    {"layer": layer("GRU", units=3, name="gru", reset_after=False), "merge_mode": "ave"},
    {"layer": layer("LSTM", units=2, name="lstm", return_sequences=True), "merge_mode": None},
    {"layer": layer("LSTM", units=2, name="lstm", return_state=True), "merge_mode": None},
    {"layer": layer("LSTM", units=2, name="lstm", return_state=True), "merge_mode": "concat"},
    {"layer": layer("SimpleRNN", units=2, name="forward_rnn", use_bias=False)},
    {
        "layer": layer("GRU", units=4, name="gru"),
        "backward_layer": layer("GRU", units=4, name="bw", go_backwards=True),
    },
    {"layer": layer("RNN", cell=cell("LSTMCell", units=3, name="lstm_cell"), name="rnn")},
]


@pytest.mark.parametrize("config", BIDIRECTIONAL_CASES)
def test_bidirectional_weights_match_keras(config):
    assert_matches_keras("Bidirectional", config, SEQ)


def test_bidirectional_names_and_owners_by_hand():
    specs = lookup("Bidirectional").weights(BIDIRECTIONAL_CASES[0], SEQ)
    assert [(s.name, s.owner) for s in specs] == [
        ("forward_lstm/lstm_cell/kernel", "forward_layer/cell"),
        ("forward_lstm/lstm_cell/recurrent_kernel", "forward_layer/cell"),
        ("forward_lstm/lstm_cell/bias", "forward_layer/cell"),
        ("backward_lstm/lstm_cell/kernel", "backward_layer/cell"),
        ("backward_lstm/lstm_cell/recurrent_kernel", "backward_layer/cell"),
        ("backward_lstm/lstm_cell/bias", "backward_layer/cell"),
    ]


def test_bidirectional_refuses_unregistered_inner_class():
    config = {"layer": layer("Lambda", function="x")}
    with pytest.raises(ValueError):
        lookup("Bidirectional").weights(config, SEQ)


TIME_DISTRIBUTED_CASES = [
    ({"layer": layer("Dense", units=2, name="dense")}, [(None, 5, 3)]),
    ({"layer": layer("Dense", units=2, name="d", use_bias=False)}, [(None, 5, 4, 3)]),
    ({"layer": layer("EinsumDense", equation="ab,bc->ac", output_shape=4, name="e")}, SEQ),
    ({"layer": layer("Embedding", input_dim=9, output_dim=2, name="emb")}, [(None, 5, 4)]),
    ({"layer": layer("LSTM", units=2, name="lstm")}, [(None, 5, 4, 3)]),
    ({"layer": layer("Masking", name="masking")}, SEQ),
]


@pytest.mark.parametrize(("config", "shapes"), TIME_DISTRIBUTED_CASES)
def test_time_distributed_weights_match_keras(config, shapes):
    assert_matches_keras("TimeDistributed", config, shapes)


def test_time_distributed_conv2d_matches_keras():
    if lookup("Conv2D") is None:
        pytest.skip("Conv2D is not registered yet")
    config = {"layer": layer("Conv2D", filters=2, kernel_size=3, name="conv2d")}
    assert_matches_keras("TimeDistributed", config, [(None, 5, 6, 6, 3)])


def test_time_distributed_owner_is_layer():
    config = TIME_DISTRIBUTED_CASES[0][0]
    specs = lookup("TimeDistributed").weights(config, [(None, 5, 3)])
    assert [(s.name, s.owner) for s in specs] == [
        ("dense/kernel", "layer"),
        ("dense/bias", "layer"),
    ]


@pytest.mark.parametrize("class_name", ["SimpleRNN", "LSTM", "GRU", "RNN", "Bidirectional"])
def test_register_recurrent_classes_in_recurrent_family(class_name):
    assert lookup(class_name).family == "recurrent"


def test_keras2_lstm_file_stores_what_registry_predicts(corpus):
    h5py = pytest.importorskip("h5py")
    with h5py.File(corpus / "keras2c_lstm_example.h5", "r") as f:
        model = json.loads(f.attrs["model_config"])
        lstm = next(e for e in model["config"]["layers"] if e["class_name"] == "LSTM")
        group = f["model_weights"]["lstm_1"]["lstm_1"]
        stored = {name: group[name].shape for name in group}
    specs = lookup("LSTM").weights(lstm["config"], [(None, 8, 20)])
    assert {s.role + ":0": s.shape for s in specs} == stored


def test_keras2_bidirectional_config_names_forward_and_backward_layers():
    config = {
        "name": "bidirectional_1",
        "layer": {
            "class_name": "LSTM",
            "config": {"name": "lstm_1", "units": 4, "implementation": 2, "time_major": False},
        },
        "merge_mode": "concat",
    }
    specs = lookup("Bidirectional").weights(config, SEQ)
    assert [s.name for s in specs][::3] == [
        "forward_lstm_1/lstm_cell/kernel",
        "backward_lstm_1/lstm_cell/kernel",
    ]
    assert lookup("Bidirectional").output_shape(config, SEQ) == (None, 8)


def test_keras2_time_distributed_config_without_module():
    config = {"layer": {"class_name": "Dense", "config": {"name": "dense_1", "units": 2}}}
    facts = registry_facts("TimeDistributed", config, [(None, 5, 3)])
    assert facts == {
        "weights": [("dense_1/kernel", (3, 2), True), ("dense_1/bias", (2,), True)],
        "output_shape": (None, 5, 2),
    }


def test_time_distributed_refuses_unregistered_inner_class():
    config = {"layer": {"class_name": "Lambda", "config": {"name": "lambda"}}}
    with pytest.raises(ValueError):
        lookup("TimeDistributed").weights(config, SEQ)
    with pytest.raises(ValueError):
        lookup("TimeDistributed").output_shape(config, SEQ)


def test_keras2_rnn_cell_list_is_stacked():
    config = {
        "cell": [cell("SimpleRNNCell", units=3, name="a"), cell("GRUCell", units=2, name="b")]
    }
    specs = lookup("RNN").weights(config, SEQ)
    assert [(s.name, s.shape, s.owner) for s in specs][::3] == [
        ("stacked_rnn_cells/a/kernel", (3, 3), "cell/cells/simple_rnn_cell"),
        ("stacked_rnn_cells/b/kernel", (3, 6), "cell/cells/gru_cell"),
    ]
