"""Our FLOPs and MACs against TensorFlow's own count: the profiler's float operations
(`tf.compat.v1.profiler.profile` with `ProfileOptionBuilder.float_operation()`) on the
model's inference graph, traced at batch 1.

The two conventions differ, and every difference is worked out here by hand, layer by
layer, from the Keras layer's own config and shapes (never from our report): the test holds

    our FLOPs total == TensorFlow's total + Σ (ours − TensorFlow's) over the layers

exactly. Where TensorFlow's flops registry (tensorflow/python/profiler/internal/
flops_registry.py, and the convolutions' in tensorflow/python/ops/nn_ops.py) and ours agree:

- Conv2D: 2 × outputs × kernel height × kernel width × input depth; DepthwiseConv2dNative:
  2 × outputs × kernel height × kernel width; MatMul: 2 × k × outputs. These are 2 × MACs in
  our convention, so our MACs total is compared with those ops alone, exactly.
- BiasAdd: one per element (our bias adds); AddV2/Mul of a merge: one per output element;
  MaxPool/AvgPool: kernel area × outputs (our comparisons or additions); Pad, Reshape,
  ConcatV2 and the other data moves: nothing.

Where they differ (ours − TensorFlow's, per layer; N the layer's output elements at batch 1):

- Activations. Ours: 1 per element whatever the function (`linear` none). TensorFlow's
  registry has no Relu, Relu6 or Sigmoid (0); Softmax is 5 per element; Keras 3's silu is
  tf.nn.silu, x · sigmoid(β · x), whose two multiplies count 2 per element. So relu, relu6
  and sigmoid: +N; softmax: −4N; silu: −N. This holds for an Activation or ReLU layer and for
  a layer's own `activation`.
- BatchNormalization. Ours: x · scale + offset, 2N, with the per-channel folding not
  counted. TensorFlow runs tf.nn.batch_normalization unfolded on the graph: x · inv (N) and
  + shift (N), and per channel variance + ε (C), rsqrt (2C: its registry counts Rsqrt as 2),
  inv · γ (C), mean · inv (C), β − … (C). So −6C (−5C with `scale=False`: no inv · γ).
- Averages. Ours: the additions plus one division per output. TensorFlow's AvgPool counts the
  kernel area × outputs only, and Mean (GlobalAveragePooling2D) the input elements only. So
  +N for both.
- Normalization (the preprocessing layer). Ours: (x − mean) / std as a scale and an offset,
  2N. TensorFlow: Sub (N), RealDiv (N), and max(√variance, ε) per channel (Maximum C, Sqrt not
  in its registry). So −C.

A class missing from EXPLAINED fails the test: a new architecture's difference has to be
worked out before it is compared.
"""

from __future__ import annotations

import json
import math

import pytest

from app.analysis.breakdown import totals
from app.analysis.resolve import resolve
from app.formats.config import parse_model
from app.schemas import Totals
from tests.support.kerasref import keras

# isort: off
import tensorflow as tf  # noqa: E402  (after kerasref, which sets TensorFlow's environment)
# isort: on

L = keras.layers
PROFILER = tf.compat.v1.profiler
# The ops whose float operations are 2 × MACs in TensorFlow's registry.
CONTRACTIONS = ["Conv2D", "DepthwiseConv2dNative", "MatMul", "BatchMatMulV2"]


# TensorFlow's side ---------------------------------------------------------------------


def inference_graph(model):
    """The model's inference graph at batch 1, as traced. Its variables are read, not frozen
    into constants: the profiler takes the same shapes from either (MobileNetV2: 615,292,208
    both ways), and freezing VGG16's 138 million weights took minutes."""
    spec = tf.TensorSpec([1, *model.input_shape[1:]], model.inputs[0].dtype)
    return tf.function(lambda x: model(x, training=False)).get_concrete_function(spec).graph


def profiler_flops(graph, op_types: list[str] | None = None) -> int:
    """The profiler's total float operations (of `op_types` only, when given)."""
    options = PROFILER.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    if op_types is not None:
        options["account_type_regexes"] = [f"^{t}$" for t in op_types]
    return PROFILER.profile(graph, options=options).total_float_ops


# Ours ----------------------------------------------------------------------------------


def our_totals(model):
    graph = parse_model(json.loads(model.to_json()))
    resolve(graph, weights_in_file=False)
    return totals(graph)


# The differences, by hand from the Keras layer ----------------------------------------


def elements(shape) -> int:
    """A shape's elements at batch 1."""
    return math.prod(int(d) for d in shape[1:])


def out(layer) -> int:
    return elements(layer.output.shape)


def channels(layer) -> int:
    return int(layer.input.shape[-1])


# Per element: ours (1 for any function but linear) − TensorFlow's registry.
ACTIVATION_GAP = {
    "linear": 0,
    "relu": 1,  # Relu: not in the registry
    "relu6": 1,  # Relu6: not in the registry
    "sigmoid": 1,  # Sigmoid: not in the registry
    "softmax": 1 - 5,  # Softmax: 5 per element
    "silu": 1 - 2,  # x · sigmoid(β · x): two Mul
    "swish": 1 - 2,
}


def activation_gap(layer) -> int:
    """A layer's own `activation`: its products and bias adds count alike on both sides."""
    return ACTIVATION_GAP[layer.get_config()["activation"]] * out(layer)


def relu_gap(layer) -> int:
    """ReLU(max_value=6 or none) is Relu6 or Relu: not in the registry."""
    config = layer.get_config()
    assert config["negative_slope"] == 0 and config["threshold"] == 0, "not worked out"
    assert config["max_value"] in (None, 6.0), "not worked out"
    return out(layer)


def batchnorm_gap(layer) -> int:
    """The per-channel folding TensorFlow counts and we do not: −6C, or −5C without `scale`
    (no inv · γ). Without `center` the shift is −mean · inv, a Neg for the Sub: the same."""
    assert layer.get_config()["axis"] in (-1, 3), "not worked out"
    return -(6 if layer.get_config()["scale"] else 5) * channels(layer)


def average_gap(layer) -> int:
    """Our one division per output, which AvgPool and Mean leave out."""
    return out(layer)


def normalization_gap(layer) -> int:
    """max(√variance, ε) per channel: the Maximum TensorFlow counts, we do not."""
    return -channels(layer)


def no_gap(layer) -> int:
    return 0


EXPLAINED = {
    # Nothing to compute, or the same count on both sides:
    **dict.fromkeys(
        [
            "InputLayer",
            "ZeroPadding2D",
            "Cropping2D",
            "Concatenate",
            "Flatten",
            "Reshape",
            "Dropout",
            "MaxPooling2D",
            "Add",
            "Multiply",
            "Rescaling",
        ],
        no_gap,
    ),
    **dict.fromkeys(["Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Dense"], activation_gap),
    "Activation": activation_gap,
    "ReLU": relu_gap,
    "BatchNormalization": batchnorm_gap,
    "AveragePooling2D": average_gap,
    "GlobalAveragePooling2D": average_gap,
    "Normalization": normalization_gap,
}


def explained(model) -> dict[str, int]:
    """Σ (ours − TensorFlow's) per layer class, each layer worked out by hand."""
    gaps: dict[str, int] = {}
    for layer in model.layers:
        name = type(layer).__name__
        assert name in EXPLAINED, (
            f"{name}: its difference from TensorFlow's count is not worked out"
        )
        gaps[name] = gaps.get(name, 0) + EXPLAINED[name](layer)
    return gaps


def compare(model) -> tuple[Totals, int, dict[str, int]]:
    """(our totals, TensorFlow's FLOPs, the differences by class), after asserting that our
    FLOPs are TensorFlow's plus the differences, and our MACs half its contractions'."""
    ours = our_totals(model)
    graph = inference_graph(model)
    theirs = profiler_flops(graph)
    gaps = explained(model)
    assert ours.cost_unknown == []
    assert ours.flops == theirs + sum(gaps.values()), (ours.flops, theirs, gaps)
    assert 2 * ours.macs == profiler_flops(graph, CONTRACTIONS)
    return ours, theirs, gaps


# Tests ---------------------------------------------------------------------------------


def test_small_model_matches_tensorflows_count_up_to_the_worked_out_differences():
    x = keras.Input((12, 12, 3))
    y = L.Rescaling(1 / 255, offset=-0.5)(x)
    y = L.Normalization(mean=[0.1, 0.2, 0.3], variance=[1.0, 2.0, 3.0])(y)
    y = L.ZeroPadding2D(1)(y)
    y = L.Conv2D(8, 3, strides=2, activation="relu")(y)  # 14 → 6
    y = L.BatchNormalization()(y)
    a = L.ReLU(6.0)(y)
    b = L.DepthwiseConv2D(3, padding="same", activation="swish")(a)
    b = L.SeparableConv2D(8, 3, padding="same", use_bias=False)(b)
    b = L.Activation("sigmoid")(b)
    y = L.Add()([a, b])
    y = L.BatchNormalization(scale=False, center=False)(y)
    y = L.Multiply()([y, L.Conv2D(8, 1, activation="sigmoid")(y)])
    p = L.MaxPooling2D(2)(y)  # 3 × 3
    q = L.AveragePooling2D(2, padding="same")(y)  # 3 × 3
    y = L.Concatenate()([p, q])
    y = L.Dropout(0.5)(L.Flatten()(y))
    y = L.Dense(4, activation="softmax")(L.Reshape((144,))(y))
    ours, theirs, gaps = compare(keras.Model(x, y))
    assert ours.macs == (
        6 * 6 * 8 * (3 * 3 * 3)  # the first Conv2D: outputs × kernel × input channels
        + 6 * 6 * 8 * (3 * 3)  # DepthwiseConv2D
        + 6 * 6 * 8 * (3 * 3)
        + 6 * 6 * 8 * 8  # SeparableConv2D: depthwise, then pointwise
        + 6 * 6 * 8 * 8  # the 1 × 1 Conv2D
        + 4 * 144  # Dense
    )
    # The differences by hand, N the layer's output elements:
    assert gaps == {
        "Normalization": -3,  # max(√variance, ε) over 3 channels
        "Conv2D": 6 * 6 * 8 + 6 * 6 * 8,  # relu, then the 1 × 1 one's sigmoid
        "BatchNormalization": -6 * 8 - 5 * 8,  # scale=False: no inv · γ
        "ReLU": 6 * 6 * 8,
        "DepthwiseConv2D": -(6 * 6 * 8),  # silu: 1 − 2 per element
        "SeparableConv2D": 0,  # linear
        "Activation": 6 * 6 * 8,  # sigmoid
        "AveragePooling2D": 3 * 3 * 8,  # a division per output
        "Dense": -4 * 4,  # softmax: 1 − 5
        **dict.fromkeys(
            ["InputLayer", "Rescaling", "ZeroPadding2D", "Add", "Multiply", "MaxPooling2D"], 0
        ),
        **dict.fromkeys(["Concatenate", "Flatten", "Dropout", "Reshape"], 0),
    }
    assert ours.flops - theirs == 288 + 288 - 48 - 40 + 288 - 288 + 288 + 72 - 16 - 3


# ResNet50's and MobileNetV2's MACs, beside the papers' multiply-adds (the README cites
# them): He et al. 2016, Table 1, 3.8 × 10⁹; Sandler et al. 2018, Table 4, 300 M.
PUBLISHED_MACS = {"ResNet50": 3.8e9, "MobileNetV2": 300e6}

# Each a class or a way of counting the others lack: bottleneck convolutions (ResNet50),
# depthwise and ReLU6 (MobileNetV2, MobileNet), dense layers with relu (VGG16), separable
# convolutions (Xception, NASNetMobile, with Cropping2D), average pooling and concatenation
# (DenseNet121, InceptionV3), silu, Rescaling, Normalization and squeeze-and-excite
# (EfficientNetB0).
APPLICATIONS = [
    "ResNet50",
    "MobileNetV2",
    "MobileNet",
    "VGG16",
    "Xception",
    "NASNetMobile",
    "DenseNet121",
    "InceptionV3",
    "EfficientNetB0",
]


@pytest.mark.slow
@pytest.mark.parametrize("name", APPLICATIONS)
def test_application_matches_tensorflows_count_up_to_the_worked_out_differences(name):
    keras.backend.clear_session()
    model = getattr(keras.applications, name)(weights=None)
    ours, _, _ = compare(model)
    if name in PUBLISHED_MACS:
        assert abs(ours.macs - PUBLISHED_MACS[name]) / PUBLISHED_MACS[name] < 0.02
