"""TensorFlow's errors for what its CPU kernels cannot run, told apart and put in words.

The messages are TensorFlow 2.21's, captured from real runs on an AVX2-only CPU (Keras 3.15:
`predict` runs a graph and names the failing node; `model(x, training=True)` runs eagerly and
names the Keras class called), shortened only where they list Python frames.
"""

from __future__ import annotations

import pytest

from app.check.keras.cpu_limits import CHANNELS_FIRST, CODE, DILATION, explain_cpu_limit, facts_of
from app.check.keras.running import layer_facts
from tests.support.kerasref import keras

FRAMES = (
    '  File "/venv/lib/python3.11/site-packages/keras/src/backend/tensorflow/trainer.py", '
    "line 587, in predict\n\n"
    '  File "/venv/lib/python3.11/site-packages/keras/src/backend/tensorflow/nn.py", '
    "line 812, in _conv\n\n"
)


def graph_error(node: str, message: str) -> str:
    """`predict`'s error text: the node, the frames where it was defined, TensorFlow's message."""
    return (
        f"Graph execution error:\n\nDetected at node {node} defined at (most recent call last):"
        f"\n{FRAMES}{message}\n\t [[{{{{node {node}}}}}]] "
        "[Op:__inference_one_step_on_data_distributed_89]"
    )


def eager_error(class_name: str, op: str, message: str) -> Exception:
    """`model(x, training=True)`'s error: Keras' wrapper around TensorFlow's op error."""
    op_text = (
        f"{{{{function_node __wrapped__{op}_device_/job:localhost/replica:0/task:0/device:CPU:0}}}}"
        f" {message} [Op:{op}] name: "
    )
    try:
        try:
            raise RuntimeError(op_text)
        except RuntimeError as cause:
            raise RuntimeError(
                f"Exception encountered when calling {class_name}.call().\n\n\x1b[1m{op_text}"
                f"\x1b[0m\n\nArguments received by {class_name}.call():\n"
                "  • inputs=tf.Tensor(shape=(2, 3, 6, 6), dtype=float32)"
            ) from cause
    except RuntimeError as exc:
        return exc


NHWC_ONLY = (
    "The Conv2D op currently only supports the NHWC tensor format on the CPU. "
    "The op was given the format: NCHW"
)
DILATION_2D = "Current CPU implementations do not yet support dilation rates larger than 1."
DILATION_3D = "Current CPU implementation does not yet support dilation rates larger than 1."
BACKPROP_NHWC = "Conv2DCustomBackpropInputOp only supports NHWC."
L = keras.layers
CF = {"data_format": "channels_first"}


def facts(*layers):
    return [facts_of(layer) for layer in layers]


def test_channels_first_conv2d_in_predict_names_its_layer_despite_scope_suffixes():
    # Keras' auto names: `conv2d` (channels_last, runs) then `conv2d_1` (channels_first);
    # TensorFlow made the scopes unique as `conv2d_1_2`.
    layers = facts(L.Conv2D(3, 1, name="conv2d"), L.Conv2D(2, 3, name="conv2d_1", **CF))
    error = RuntimeError(graph_error("functional_1/conv2d_1_2/convolution", NHWC_ONLY))
    failed = explain_cpu_limit(error, layers)
    assert failed is not None
    assert failed.result.code == CODE == "keras-cpu-unsupported"
    assert failed.result.reason == {
        "kind": "cpu-unsupported",
        "op": "Conv2D",
        "limit": CHANNELS_FIRST,
        "layers": ["conv2d_1"],
    }
    assert failed.result.message == (
        "TensorFlow cannot run layer conv2d_1 (Conv2D), which is channels_first, on this "
        "server's CPU: its CPU kernel for Conv2D takes channels-last data only. This is a "
        "limit of TensorFlow on this machine, not a fault of the model: where TensorFlow uses "
        "its oneDNN kernels (its default on newer x86 CPUs, such as those with AVX-512) the "
        "model runs."
    )
    assert failed.result.exception_type == "RuntimeError"


def test_scope_suffix_on_a_layer_named_like_a_scope_is_read_both_ways():
    # `conv2d` became `conv2d_2` next to a layer really named `conv2d_2`: both can be meant.
    layers = facts(L.Conv2D(2, 3, name="conv2d", **CF), L.Conv2D(2, 3, name="conv2d_2", **CF))
    error = RuntimeError(graph_error("functional_1/conv2d_2/convolution", NHWC_ONLY))
    failed = explain_cpu_limit(error, layers)
    assert failed.result.reason["layers"] == ["conv2d", "conv2d_2"]
    assert failed.result.message.startswith(
        "TensorFlow cannot run one of the layers conv2d, conv2d_2 (channels_first) on this "
        "server's CPU: its CPU kernel for Conv2D takes channels-last data only."
    )


def test_dilated_conv1d_transpose_in_predict_is_a_dilation_limit_of_conv2d_backprop_input():
    layers = facts(L.Dense(3, name="dense"), L.Conv1DTranspose(2, 3, dilation_rate=2, name="up"))
    error = RuntimeError(graph_error("functional_1_1/up_1/conv_transpose", DILATION_2D))
    failed = explain_cpu_limit(error, layers)
    assert (failed.result.reason["op"], failed.result.reason["limit"]) == (
        "Conv2DBackpropInput",
        DILATION,
    )
    assert failed.result.reason["layers"] == ["up"]
    assert "layer up (Conv1DTranspose), which is dilated," in failed.result.message
    assert "does not support a dilation rate above 1" in failed.result.message


def test_dilated_conv3d_transpose_is_told_by_its_own_message():
    layers = facts(L.Conv3DTranspose(2, 2, dilation_rate=2, name="up3"))
    failed = explain_cpu_limit(RuntimeError(graph_error("m/up3_1/x", DILATION_3D)), layers)
    assert failed.result.reason["op"] == "Conv3DBackpropInputV2"
    assert failed.result.reason["layers"] == ["up3"]


def test_channels_first_transpose_in_training_mode_is_found_by_its_class():
    layers = facts(
        L.Conv2D(2, 3, name="stem"), L.Conv2DTranspose(2, 3, name="up", **CF), L.Flatten(**CF)
    )
    error = eager_error("Conv2DTranspose", "Conv2DBackpropInput", BACKPROP_NHWC)
    failed = explain_cpu_limit(error, layers)
    assert failed.result.reason == {
        "kind": "cpu-unsupported",
        "op": "Conv2DBackpropInput",
        "limit": CHANNELS_FIRST,
        "layers": ["up"],
    }


def test_conv_lstm_in_training_mode_is_found_through_the_cell_it_calls():
    layers = facts(L.ConvLSTM2D(2, 3, name="lstm_cf", **CF), L.Conv2D(2, 3, name="head", **CF))
    failed = explain_cpu_limit(eager_error("ConvLSTMCell", "Conv2D", NHWC_ONLY), layers)
    assert failed.result.reason["layers"] == ["lstm_cf"]
    assert "layer lstm_cf (ConvLSTM2D)" in failed.result.message


def test_layer_inside_a_nested_model_is_named_by_its_own_name():
    inner = keras.Sequential(
        [keras.Input((3, 6, 6)), L.Conv2D(2, 3, name="deep", **CF)], name="inner"
    )
    inputs = keras.Input((3, 6, 6))
    model = keras.Model(inputs, inner(L.Activation("relu", name="act")(inputs)))
    layers = layer_facts(keras, model)
    assert [f.name for f in layers] == ["act", "deep"]
    error = RuntimeError(graph_error("functional_4_1/inner_1/deep_1/convolution", NHWC_ONLY))
    assert explain_cpu_limit(error, layers).result.reason["layers"] == ["deep"]


def test_unlocated_limit_speaks_of_the_model_and_never_repeats_tensorflow():
    error = RuntimeError(graph_error("functional_1/mystery_1/convolution", NHWC_ONLY))
    failed = explain_cpu_limit(error, facts(L.Dense(2, name="dense")))
    assert failed.result.reason["layers"] == []
    assert failed.result.message.startswith(
        "TensorFlow cannot run this model on this server's CPU: its CPU kernel for Conv2D "
        "takes channels-last data only."
    )
    for text in ("NHWC", "NCHW", "{{node", "mystery", "Graph execution"):
        assert text not in failed.result.message


@pytest.mark.parametrize(
    "message",
    [
        "Incompatible shapes: [2,3] vs. [2,4] [Op:AddV2]",
        "OOM when allocating tensor with shape[4096,4096]",
        "Matrix size-incompatible: In[0]: [2,3], In[1]: [4,5]",
    ],
)
def test_other_predict_errors_are_not_cpu_limits(message):
    layers = facts(L.Conv2D(2, 3, **CF))
    assert explain_cpu_limit(RuntimeError(graph_error("functional_1/x", message)), layers) is None


def test_facts_read_data_format_and_dilation_from_the_config():
    [cf, dilated, plain] = facts(
        L.ConvLSTM1D(2, 3, name="a", **CF), L.Conv2D(2, 3, dilation_rate=(1, 2)), L.Dense(2)
    )
    assert (cf.class_name, cf.channels_first, cf.dilated) == ("ConvLSTM1D", True, False)
    assert cf.classes == {"ConvLSTM1D", "ConvLSTMCell"}
    assert (dilated.channels_first, dilated.dilated) == (False, True)
    assert (plain.channels_first, plain.dilated) == (False, False)
