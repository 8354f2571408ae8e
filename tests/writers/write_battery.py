"""Write the battery of tiny models with one Keras writer: run inside that writer's venv.

    python write_battery.py OUT_DIR --flavour keras3|tf.keras|tf_keras

`keras3` imports `keras` (Keras 3), `tf.keras` takes `tensorflow.keras` (Keras 2, TF ≤ 2.15),
`tf_keras` imports `tf_keras` (Keras 2 as a package of its own, TF ≥ 2.16). Every model is
saved as legacy `.h5`, `.keras` and `to_json()` (`NAME.h5`, `NAME.keras`, `NAME.json`), with
the writer's own numbers beside them: `NAME.numbers.json` (count_params(), the trainable and
non-trainable counts, get_weights() shapes in order, the classes in the model) and `NAME.npz`
(`x0, x1, ...` a seeded input, `y0, y1, ...` the model's outputs for it — `predict`'s
computation, `model(x, training=False)` —, `w0, w1, ...` get_weights(), the
weights a spec is run with). `writer.json` records the versions, what was written, and each
registry class the writer skipped and why.

This file imports nothing from the project: it runs under Keras versions the project does
not install. Sizes are tiny on purpose (the whole matrix stays small).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

import numpy as np

SEED = 7
BATCH = 2
VOCAB = 10


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--flavour", choices=["keras3", "tf.keras", "tf_keras"], required=True)
    parser.add_argument("--registry", type=Path, help="the project's class names, one a line")
    args = parser.parse_args()
    writer = Writer(args.flavour)
    args.out.mkdir(parents=True, exist_ok=True)
    known = args.registry.read_text().split() if args.registry else []
    summary = writer.versions()
    summary["models"] = {}
    for name, builder in MODELS.items():
        if builder.keras2_only and writer.keras3 or builder.keras3_only and not writer.keras3:
            continue
        summary["models"][name] = write_model(writer, name, builder, args.out)
    used = {c for m in summary["models"].values() for c in m.get("classes", [])}
    summary["skipped_classes"] = {
        cls: writer.why_not(cls) for cls in known if cls not in used and not cls.startswith("ops.")
    }
    summary["construct_failures"] = writer.skipped
    (args.out / "writer.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")


class Writer:
    """The Keras of one writer and the small differences between Keras 2 and 3 builders."""

    def __init__(self, flavour: str) -> None:
        self.flavour = flavour
        self.keras3 = flavour == "keras3"
        if flavour == "keras3":
            import keras

            self.keras = keras
            self.tf = None
        elif flavour == "tf.keras":
            import tensorflow as tf

            self.keras = tf.keras
            self.tf = tf
        else:
            os.environ["TF_USE_LEGACY_KERAS"] = "1"
            import tensorflow as tf
            import tf_keras

            self.keras = tf_keras
            self.tf = tf
        self.layers = self.keras.layers
        self.skipped: dict[str, str] = {}

    def versions(self) -> dict:
        out = {"flavour": self.flavour, "python": sys.version.split()[0], "numpy": np.__version__}
        out["keras"] = getattr(self.keras, "__version__", None)
        if out["keras"] is None:  # tf.keras 2.13+ has no __version__; the keras package has
            import keras

            out["keras"] = keras.__version__
        try:
            import tensorflow as tf

            out["tensorflow"] = tf.__version__
        except ImportError:
            out["tensorflow"] = None
        if self.keras3:
            out["backend"] = self.keras.backend.backend()
        return out

    def layer(self, cls: str, *args, **kwargs):
        """A layer of class `cls`, or None (recorded in `skipped`) when this writer has no such
        class or refuses these arguments."""
        found = getattr(self.layers, cls, None)
        if found is None and hasattr(self.layers, "experimental"):
            found = getattr(self.layers.experimental, cls, None)
        if found is None:
            self.skipped.setdefault(cls, "not a layer class of this writer")
            return None
        try:
            return found(*args, **kwargs)
        except Exception as exc:  # an argument this version does not take
            self.skipped[cls] = f"constructor refused: {type(exc).__name__}: {exc}"[:300]
            return None

    def why_not(self, cls: str) -> str:
        """Why no file of this writer holds a layer of class `cls`."""
        found = getattr(self.layers, cls, None)
        if found is not None and found.__name__ != cls:
            return f"an alias: files name it {found.__name__}"
        return self.skipped.get(cls, "not a layer class of this writer")

    def input(self, shape, dtype="float32", name=None):
        return self.keras.Input(shape, dtype=dtype, name=name)


class Builder:
    def __init__(self, fn, keras2_only=False, keras3_only=False):
        self.fn, self.keras2_only, self.keras3_only = fn, keras2_only, keras3_only


MODELS: dict[str, Builder] = {}


def model(name, **flags):
    def wrap(fn):
        MODELS[name] = Builder(fn, **flags)
        return fn

    return wrap


def fan_out(w: Writer, x, units, name):
    """Apply every available layer of `units` to `x`; a multi-output model of them all."""
    outputs = []
    for cls, args, kwargs, call in units:
        layer = w.layer(cls, *args, **kwargs)
        if layer is None:
            continue
        try:
            out = call(layer, x) if call else layer(x)
        except Exception as exc:
            w.skipped[cls] = f"call failed: {type(exc).__name__}: {exc}"[:300]
            continue
        outputs.append(out)
    return w.keras.Model(x, outputs, name=name)


# The models -------------------------------------------------------------------------------


@model("core")
def core(w: Writer):
    x = w.input((6,), name="features")
    units = [
        ("Dense", (4,), {}, None),
        ("Dense", (3,), {"activation": "relu", "use_bias": False}, None),
        ("EinsumDense", ("ab,bc->ac",), {"output_shape": 4, "bias_axes": "c"}, None),
        ("Activation", ("tanh",), {}, None),
        ("ReLU", (), {"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.2}, None),
        ("LeakyReLU", (), {}, None),
        # Keras 2 only. The seeded input (x0) holds a positive below theta (0.77) and three
        # above (0.89 ... 1.39): neither ReLU nor a theta of 0 gives its output
        ("ThresholdedReLU", (), {"theta": 0.8}, None),
        ("PReLU", (), {}, None),
        ("ELU", (), {"alpha": 0.5}, None),
        ("Softmax", (), {}, None),
        ("Dropout", (0.3,), {}, None),
        ("AlphaDropout", (0.2,), {}, None),
        ("GaussianDropout", (0.2,), {}, None),
        ("GaussianNoise", (0.2,), {}, None),
        ("ActivityRegularization", (), {"l1": 0.01}, None),
        ("Identity", (), {}, None),
        ("RepeatVector", (2,), {}, None),
        ("Reshape", ((2, 3),), {}, None),
        ("Flatten", (), {}, None),
        ("Rescaling", (0.5,), {"offset": 0.25}, None),
        ("UnitNormalization", (), {}, None),
        ("LayerNormalization", (), {"epsilon": 0.01}, None),
        ("RMSNormalization", (), {}, None),
        ("Normalization", (), {"mean": [0.5] * 6, "variance": [2.0] * 6}, None),
        ("StochasticDepth", (), {}, None),
        ("LayerScale", (), {}, None),
    ]
    return fan_out(w, x, units, "core")


@model("normalization")
def normalization(w: Writer):
    """BatchNormalization with every setting off its default, and its relatives."""
    x = w.input((3, 4), name="frames")
    units = [
        ("BatchNormalization", (), {"axis": 1, "epsilon": 0.01, "momentum": 0.9}, None),
        ("BatchNormalization", (), {"center": False, "epsilon": 1e-5}, None),
        ("BatchNormalization", (), {"scale": False, "momentum": 0.5}, None),
        ("BatchNormalization", (), {"axis": -1, "center": False, "scale": False}, None),
        ("SyncBatchNormalization", (), {"epsilon": 0.002}, None),
        ("LayerNormalization", (), {"axis": [1, 2], "center": False}, None),
        ("GroupNormalization", (), {"groups": 2, "epsilon": 0.01}, None),
    ]
    return fan_out(w, x, units, "normalization")


@model("sequence")
def sequence(w: Writer):
    x = w.input((5, 4), name="steps")
    gru_reset = {"reset_after": False}
    units = [
        ("SimpleRNN", (3,), {}, None),
        ("LSTM", (3,), {"return_sequences": True}, None),
        ("GRU", (3,), {}, None),
        ("GRU", (2,), {**gru_reset, "go_backwards": True}, None),
        ("LSTM", (2,), {"return_state": True}, lambda layer, x: layer(x)[1]),
        ("Conv1D", (3, 2), {}, None),
        ("Conv1D", (2, 2), {"padding": "causal", "dilation_rate": 2}, None),
        ("SeparableConv1D", (3, 2), {"padding": "same"}, None),
        ("DepthwiseConv1D", (2,), {"depth_multiplier": 2}, None),
        ("Conv1DTranspose", (2, 3), {"strides": 2}, None),
        ("MaxPooling1D", (2,), {}, None),
        ("AveragePooling1D", (2,), {"strides": 1, "padding": "same"}, None),
        ("GlobalAveragePooling1D", (), {}, None),
        ("GlobalMaxPooling1D", (), {"keepdims": True}, None),
        ("AdaptiveAveragePooling1D", (2,), {}, None),
        ("AdaptiveMaxPooling1D", (2,), {}, None),
        ("Cropping1D", ((1, 2),), {}, None),
        ("ZeroPadding1D", (1,), {}, None),
        ("UpSampling1D", (2,), {}, None),
        ("SpatialDropout1D", (0.2,), {}, None),
        ("Permute", ((2, 1),), {}, None),
        ("MultiHeadAttention", (), {"num_heads": 2, "key_dim": 2}, lambda layer, x: layer(x, x)),
        (
            "GroupQueryAttention",
            (),
            {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1},
            lambda layer, x: layer(x, x),
        ),
        ("Attention", (), {}, lambda layer, x: layer([x, x])),
        ("AdditiveAttention", (), {}, lambda layer, x: layer([x, x])),
    ]
    return fan_out(w, x, units, "sequence")


@model("attention_settings")
def attention_settings(w: Writer):
    """Attention and AdditiveAttention off their defaults: concat scores, scaled, a key of
    its own (query, value, key)."""
    q, v, k = (w.input(shape, name=n) for n, shape in (("q", (3, 4)), ("v", (5, 4)), ("k", (5, 4))))
    outputs = []
    for cls, kwargs, args in [
        ("Attention", {"score_mode": "concat", "use_scale": True}, [q, v]),
        ("Attention", {"use_scale": True}, [q, v, k]),
        ("Attention", {"score_mode": "concat"}, [q, v, k]),
        ("AdditiveAttention", {"use_scale": False}, [q, v]),
        ("AdditiveAttention", {}, [q, v, k]),
    ]:
        layer = w.layer(cls, **kwargs)
        if layer is not None:
            outputs.append(layer(args))
    return w.keras.Model([q, v, k], outputs, name="attention_settings")


@model("wrappers")
def wrappers(w: Writer):
    x = w.input((5, 4), name="steps")
    outputs = []
    for cls, make in [
        ("Bidirectional", lambda: w.layers.Bidirectional(w.layers.LSTM(2))),
        (
            "Bidirectional",
            lambda: w.layers.Bidirectional(
                w.layers.GRU(2, return_sequences=True), merge_mode="sum"
            ),
        ),
        ("TimeDistributed", lambda: w.layers.TimeDistributed(w.layers.Dense(2))),
        ("RNN", lambda: w.layers.RNN(w.layers.SimpleRNNCell(2))),
        ("RNN", lambda: w.layers.RNN(w.layers.LSTMCell(2), return_sequences=True)),
        ("RNN", lambda: w.layers.RNN(w.layers.GRUCell(2))),
    ]:
        try:
            outputs.append(make()(x))
        except Exception as exc:
            w.skipped[cls] = f"failed: {type(exc).__name__}: {exc}"[:300]
    return w.keras.Model(x, outputs, name="wrappers")


@model("image")
def image(w: Writer):
    x = w.input((6, 6, 3), name="image")
    units = [
        ("Conv2D", (4, 3), {}, None),
        ("Conv2D", (2, 2), {"strides": 2, "padding": "same", "activation": "relu"}, None),
        ("Conv2D", (2, 2), {"dilation_rate": 2}, None),
        ("SeparableConv2D", (3, 2), {"depth_multiplier": 2}, None),
        ("DepthwiseConv2D", (2,), {"padding": "same"}, None),
        ("Conv2DTranspose", (2, 2), {"strides": 2}, None),
        ("MaxPooling2D", ((2, 2),), {}, None),
        ("AveragePooling2D", ((3, 3),), {"strides": 1}, None),
        ("GlobalAveragePooling2D", (), {}, None),
        ("GlobalMaxPooling2D", (), {}, None),
        ("AdaptiveAveragePooling2D", ((2, 2),), {}, None),
        ("AdaptiveMaxPooling2D", ((2, 2),), {}, None),
        ("Cropping2D", (((1, 0), (0, 2)),), {}, None),
        ("ZeroPadding2D", ((1, 2),), {}, None),
        ("UpSampling2D", (), {}, None),
        ("UpSampling2D", (), {"interpolation": "bilinear"}, None),
        ("SpatialDropout2D", (0.2,), {}, None),
        ("BatchNormalization", (), {"epsilon": 0.03, "momentum": 0.8}, None),
        ("GroupNormalization", (), {"groups": 3}, None),
    ]
    return fan_out(w, x, units, "image")


@model("preprocessing")
def preprocessing(w: Writer):
    """The image preprocessing layers, apart: Keras 3 cannot write some of them to legacy
    HDF5 (`cannot pickle 'module' object`), which would cost the other image layers theirs."""
    x = w.input((6, 6, 3), name="image")
    units = [
        ("Resizing", (4, 4), {}, None),
        ("CenterCrop", (4, 4), {}, None),
        ("RandomFlip", (), {}, None),
        ("RandomRotation", (0.1,), {}, None),
        ("RandomZoom", (0.1,), {}, None),
        ("RandomTranslation", (0.1, 0.1), {}, None),
        ("RandomContrast", (0.1,), {}, None),
        ("RandomBrightness", (0.1,), {}, None),
        ("RandomCrop", (4, 4), {}, None),
    ]
    return fan_out(w, x, units, "preprocessing")


@model("volume")
def volume(w: Writer):
    x = w.input((4, 4, 4, 2), name="volume")
    units = [
        ("Conv3D", (2, 2), {}, None),
        ("Conv3DTranspose", (2, 2), {"strides": 2}, None),
        ("MaxPooling3D", ((2, 2, 2),), {}, None),
        ("AveragePooling3D", ((2, 2, 2),), {}, None),
        ("GlobalAveragePooling3D", (), {}, None),
        ("GlobalMaxPooling3D", (), {}, None),
        ("AdaptiveAveragePooling3D", ((2, 2, 2),), {}, None),
        ("AdaptiveMaxPooling3D", ((2, 2, 2),), {}, None),
        ("Cropping3D", (((1, 0), (0, 1), (1, 1)),), {}, None),
        ("ZeroPadding3D", (1,), {}, None),
        ("UpSampling3D", (), {}, None),
        ("SpatialDropout3D", (0.2,), {}, None),
        ("ConvLSTM2D", (2, 2), {}, None),
    ]
    return fan_out(w, x, units, "volume")


@model("convlstm")
def convlstm(w: Writer):
    x = w.input((3, 5, 2), name="frames")
    outputs = []
    layer = w.layer("ConvLSTM1D", 2, 2, return_sequences=True)
    if layer is not None:
        outputs.append(layer(x))
    y = w.input((2, 3, 3, 3, 1), name="clips")
    layer = w.layer("ConvLSTM3D", 2, 2, padding="same")
    if layer is not None:
        outputs.append(layer(y))
    return w.keras.Model([x, y], outputs, name="convlstm")


@model("merging")
def merging(w: Writer):
    a, b = w.input((4,), name="left"), w.input((4,), name="right")
    outputs = []
    for cls, kwargs in [
        ("Add", {}),
        ("Subtract", {}),
        ("Multiply", {}),
        ("Average", {}),
        ("Maximum", {}),
        ("Minimum", {}),
        ("Concatenate", {"axis": -1}),
        ("Dot", {"axes": 1, "normalize": True}),
    ]:
        layer = w.layer(cls, **kwargs)
        if layer is not None:
            outputs.append(layer([a, b]))
    return w.keras.Model([a, b], outputs, name="merging")


@model("nested_shared")
def nested_shared(w: Writer):
    """A Sequential and a Functional inside a Functional; a Dense shared by two inputs; two
    outputs."""
    L = w.layers
    inner_seq = w.keras.Sequential(
        [w.input((4,)), L.Dense(3, activation="tanh"), L.BatchNormalization(center=False)],
        name="inner_sequential",
    )
    i = w.input((3,))
    inner_fn = w.keras.Model(i, L.Dense(2)(L.Activation("relu")(i)), name="inner_functional")
    a, b = w.input((4,), name="a"), w.input((4,), name="b")
    shared = L.Dense(4, name="shared_dense")
    left, right = shared(a), shared(b)
    merged = L.Add()([inner_seq(left), inner_seq(right)])
    out1 = inner_fn(merged)
    out2 = L.Dense(1, activation="sigmoid", name="head")(L.Concatenate()([left, right]))
    return w.keras.Model([a, b], [out1, out2], name="nested_shared")


@model("sequential")
def sequential(w: Writer):
    L = w.layers
    return w.keras.Sequential(
        [
            w.input((4, 4, 1)),
            L.Conv2D(2, 2, activation="relu"),
            L.BatchNormalization(axis=-1, momentum=0.95, epsilon=0.005),
            L.Flatten(),
            L.Dense(3),
            L.Softmax(),
        ],
        name="sequential",
    )


@model("masks")
def masks(w: Writer):
    """Masks from Embedding(mask_zero=True) and Masking, through recurrent layers."""
    L = w.layers
    ids = w.input((6,), dtype="int32", name="ids")
    e = L.Embedding(VOCAB, 3, mask_zero=True)(ids)
    a = L.LSTM(2)(e)
    b = L.Bidirectional(L.GRU(2, return_sequences=True))(e)
    b = L.GlobalAveragePooling1D()(b)
    x = w.input((5, 3), name="values")
    m = L.Masking(mask_value=0.0)(x)
    c = L.SimpleRNN(2)(m)
    d = L.TimeDistributed(L.Dense(2))(m)
    d = L.GRU(2)(d)
    return w.keras.Model([ids, x], [a, b, c, d], name="masks")


@model("tf_ops", keras2_only=True)
def tf_ops(w: Writer):
    """TFOpLambda and SlicingOpLambda layers: what tf.* calls and x[...] in a functional model
    save as in Keras 2."""
    tf, L = w.tf, w.layers
    x, y = w.input((4,), name="x"), w.input((4,), name="y")
    h = L.Dense(4)(x)
    a = h + y
    b = h * y
    c = tf.concat([a, b], axis=-1)
    d = tf.reshape(c, (-1, 2, 4))
    e = d[:, 1:]
    f = tf.reduce_mean(e, axis=1)
    g = tf.reduce_sum(d, axis=-1)
    m = tf.matmul(d, tf.transpose(d, perm=[0, 2, 1]))
    i = tf.math.exp(tf.math.tanh(f))
    j = tf.math.abs(g) - tf.math.sqrt(tf.math.square(g) + 1.0)
    k = tf.nn.relu(x[:, :2] * 2.0)
    return w.keras.Model([x, y], [i, j, m, k], name="tf_ops")


@model("slash_names", keras2_only=True)
def slash_names(w: Writer):
    """Layer names with `/`, as tf.keras ports name them (YAMNet's `layer1/conv/bn`), which
    Keras 3 refuses: an Input, a Conv1D and its BatchNormalization, a wrapped LSTM, a Dense
    called on two tensors, and the model itself."""
    L = w.layers
    x = w.input((6, 3), name="waveform/frames")
    h = L.Conv1D(4, 2, name="layer1/conv")(x)
    h = L.BatchNormalization(name="layer1/conv/bn")(h)
    h = L.Activation("relu", name="layer1/relu")(h)
    seq = L.Bidirectional(L.LSTM(2, return_sequences=True, name="rnn/lstm"), name="rnn/bi")(h)
    pooled = L.GlobalAveragePooling1D(name="pool/mean")(h)
    shared = L.Dense(4, name="shared/dense")
    a, b = shared(pooled), shared(L.Activation("tanh", name="pool/tanh")(pooled))
    out = L.Concatenate(name="head/concat")([a, b, L.Flatten(name="rnn/flat")(seq)])
    return w.keras.Model(x, L.Dense(3, name="logits/dense")(out), name="yamnet/like")


@model("slash_nested", keras2_only=True)
def slash_nested(w: Writer):
    """A nested model named with `/` whose layers are too: the legacy HDF5 file stores its
    weights as `encoder/block/block/dense/kernel:0`, nested groups all the way down."""
    L = w.layers
    i = w.input((4,), name="block/in")
    inner = w.keras.Model(
        i, L.Dense(4, activation="tanh", name="block/dense")(i), name="encoder/block"
    )
    x = w.input((4,), name="features/x")
    h = L.Dense(4, name="dense/dense_1")(x)
    return w.keras.Model(x, L.Dense(2, name="head/dense")(inner(h)), name="slash/nested")


@model("keras_ops", keras3_only=True)
def keras_ops(w: Writer):
    """keras.ops calls in a functional model: what Keras 3 saves as operations."""
    ops, L = w.keras.ops, w.layers
    x, y = w.input((4,), name="x"), w.input((4,), name="y")
    h = L.Dense(4)(x)
    a = h + y
    b = ops.multiply(h, y)
    c = ops.mean(b, axis=-1, keepdims=True)
    d = ops.sum(a, axis=-1, keepdims=True)
    e = ops.exp(ops.negative(ops.abs(a)))
    f = ops.sqrt(ops.square(b) + 1.0)
    g = ops.maximum(a, b) - ops.minimum(a, b)
    k = ops.power(ops.abs(h), 2.0) / (ops.max(ops.abs(h), axis=-1, keepdims=True) + 1.0)
    return w.keras.Model([x, y], [c, d, e, f, g, k], name="keras_ops")


# Models added on 2026-12-05, last: a model builds its layers with Keras' name counters
# running, so one added before the others would rename theirs in every file.


@model("mixed_precision")
def mixed_precision(w: Writer):
    """Layers whose dtype policy computes in float16 or bfloat16, as the mixed-precision guide
    builds them (a float32 softmax last): tf.keras writes each policy as a `Policy` object,
    Keras 3 as a `DTypePolicy`; float32 variables, half-precision arithmetic."""
    L = w.layers
    x = w.input((6, 6, 3), name="image")
    h = L.Conv2D(4, 3, padding="same", dtype="mixed_float16")(x)
    h = L.BatchNormalization(dtype="mixed_float16")(h)
    h = L.ReLU(dtype="mixed_float16")(h)
    h = L.DepthwiseConv2D(3, padding="same", dtype="mixed_bfloat16")(h)
    h = L.GlobalAveragePooling2D(dtype="mixed_bfloat16")(h)
    h = L.Dense(5, dtype="mixed_float16")(h)
    y = L.Activation("softmax", dtype="float32")(h)
    return w.keras.Model(x, y, name="mixed_precision")


def operations(w: Writer, calls) -> list:
    """The outputs of each (name, call) this writer makes; one it lacks, or records
    otherwise, is left out and named in writer.json."""
    outputs = []
    for name, call in calls:
        try:
            outputs.append(call())
        except Exception as exc:
            w.skipped[f"ops.{name}"] = f"{type(exc).__name__}: {exc}"[:300]
    return outputs


@model("keras_ops_math", keras3_only=True)
def keras_ops_math(w: Writer):
    """The math and nn operations of keras.ops a functional model records (those a writer
    lacks are left out and named in writer.json)."""
    ops, L = w.keras.ops, w.layers
    x = w.input((3, 4), name="x")
    h = L.Dense(4)(x)
    calls = [
        ("sigmoid", lambda: ops.sigmoid(h)),
        ("relu", lambda: ops.relu(h)),
        ("softmax", lambda: ops.softmax(h, axis=1)),
        ("tanh", lambda: ops.tanh(h)),
        ("gelu", lambda: ops.gelu(h)),
        ("gelu_exact", lambda: ops.gelu(h, approximate=False)),
        ("silu", lambda: ops.silu(h)),
        ("erf", lambda: ops.erf(h)),
        ("rsqrt", lambda: ops.rsqrt(ops.abs(h) + 1.0)),
        ("log1p", lambda: ops.log1p(ops.abs(h))),
        ("sin", lambda: ops.sin(h)),
        ("cos", lambda: ops.cos(h)),
        ("clip", lambda: ops.clip(h, -0.5, 0.5)),
        ("where", lambda: ops.where(h > 0, h, 0.1 * h)),
        ("matmul", lambda: ops.matmul(h, ops.ones((4, 2)))),
        ("einsum", lambda: ops.einsum("bij,bkj->bik", h, x)),
        ("var", lambda: ops.var(h, axis=-1)),
        ("std", lambda: ops.std(h, axis=1, keepdims=True)),
        ("argmax", lambda: ops.argmax(h, axis=-1)),
        ("cumsum", lambda: ops.cumsum(h, axis=1)),
        ("norm", lambda: ops.norm(h, axis=-1)),
    ]
    return w.keras.Model(x, operations(w, calls), name="keras_ops_math")


@model("keras_ops_arrays", keras3_only=True)
def keras_ops_arrays(w: Writer):
    """The array operations of keras.ops a functional model records: `x[...]`, reshape,
    transpose, concatenate and the like (those a writer lacks are named in writer.json)."""
    ops, L = w.keras.ops, w.layers
    x = w.input((3, 4), name="x")
    h = L.Dense(4)(x)
    calls = [
        ("getitem", lambda: h[:, 1:, ::2]),
        ("getitem_int", lambda: h[:, 0]),
        ("getitem_none", lambda: h[:, None, -1]),
        ("reshape", lambda: ops.reshape(h, (-1, 12))),
        ("transpose", lambda: ops.transpose(h, (0, 2, 1))),
        ("expand_dims", lambda: ops.expand_dims(h, 1)),
        ("squeeze", lambda: ops.squeeze(ops.expand_dims(h, 1), 1)),
        ("concatenate", lambda: ops.concatenate([h, x], axis=-1)),
        ("stack", lambda: ops.stack([h, x], axis=1)),
        ("tile", lambda: ops.tile(h, (1, 2, 1))),
        ("repeat", lambda: ops.repeat(h, 2, axis=1)),
        ("pad", lambda: ops.pad(h, ((0, 0), (1, 1), (0, 0)))),
        ("flip", lambda: ops.flip(h, axis=1)),
        ("take", lambda: ops.take(h, [0, 2], axis=1)),
        ("split", lambda: ops.split(h, 2, axis=-1)[1]),
    ]
    return w.keras.Model(x, operations(w, calls), name="keras_ops_arrays")


@model("augmentation", keras3_only=True)
def augmentation(w: Writer):
    """Keras 3's image augmentation layers (the identity under predict), each writer's own,
    and SpectralNormalization; apart from `preprocessing`, whose files stay as they were."""
    x = w.input((8, 8, 3), name="image")
    units = [
        ("RandomGrayscale", (), {"factor": 0.5}, None),
        ("RandomHue", (0.2, (0, 255)), {}, None),
        ("RandomSaturation", (0.2,), {}, None),
        ("RandomSharpness", (0.2,), {}, None),
        ("RandomShear", (0.2,), {}, None),
        ("RandomColorDegeneration", (0.2,), {}, None),
        ("RandomColorJitter", (), {"brightness_factor": 0.1}, None),
        ("RandomPosterization", (4,), {}, None),
        ("RandomInvert", (), {}, None),
        ("RandomErasing", (), {}, None),
        ("RandomGaussianBlur", (), {}, None),
        ("RandomPerspective", (), {}, None),
        ("RandomElasticTransform", (), {}, None),
        ("Solarization", (), {}, None),
    ]
    model = fan_out(w, x, units, "augmentation")
    conv = w.layer("Conv2D", 2, 3)
    wrapped = w.layer("SpectralNormalization", conv) if conv is not None else None
    if wrapped is None:
        return model
    return w.keras.Model(x, [*model.outputs, wrapped(x)], name="augmentation")


# Writing ----------------------------------------------------------------------------------


def write_model(w: Writer, name: str, builder: Builder, out: Path) -> dict:
    record: dict = {"files": [], "errors": {}}
    try:
        m = builder.fn(w)
        seed_weights(m, np.random.default_rng(SEED))
    except Exception:
        record["errors"]["build"] = traceback.format_exc()[-1500:]
        return record
    record["classes"] = sorted(classes_of(m))
    # Keras 2: save_format says which, as TF 2.12 writes HDF5 even to a `.keras` name.
    keras2 = (
        {} if w.keras3 else {".h5": {"save_format": "h5"}, ".keras": {"save_format": "keras_v3"}}
    )
    for suffix in (".h5", ".keras", ".json"):
        path = out / f"{name}{suffix}"
        try:
            if suffix == ".json":
                path.write_text(m.to_json())
            else:
                m.save(path, **keras2.get(suffix, {}))
            record["files"].append(path.name)
        except Exception:
            record["errors"][suffix] = traceback.format_exc()[-1500:]
            if path.exists():
                path.unlink()
    inputs = seeded_inputs(m, np.random.default_rng(SEED + 1))
    # What predict computes (a call in inference mode), without tracing a tf.function per
    # model: on a shared 2-core machine tracing took most of a writer's minutes.
    called = m(inputs if len(inputs) > 1 else inputs[0], training=False)
    called = list(called) if isinstance(called, list | tuple) else [called]
    predicted = [np.asarray(t) for t in called]
    weights = m.get_weights()
    arrays = {f"x{i}": v for i, v in enumerate(inputs)}
    arrays.update({f"y{i}": np.asarray(v) for i, v in enumerate(predicted)})
    arrays.update({f"w{i}": v for i, v in enumerate(weights)})
    np.savez_compressed(out / f"{name}.npz", **arrays)
    trainable = sum(int(np.prod(v.shape)) for v in m.trainable_weights)
    non_trainable = sum(int(np.prod(v.shape)) for v in m.non_trainable_weights)
    numbers = {
        "model": name,
        "class_name": type(m).__name__,
        "count_params": int(m.count_params()),
        "trainable": trainable,
        "non_trainable": non_trainable,
        "weight_shapes": [list(v.shape) for v in weights],
        "weight_dtypes": [str(v.dtype) for v in weights],
        "inputs": len(inputs),
        "outputs": len(predicted),
        "outputs_by": "model(x, training=False)",
        "classes": record["classes"],
        "files": record["files"],
    }
    (out / f"{name}.numbers.json").write_text(json.dumps(numbers, indent=1) + "\n")
    record["count_params"] = numbers["count_params"]
    return record


def classes_of(m) -> set[str]:
    found = set()
    for layer in m.layers:
        found.add(type(layer).__name__)
        if hasattr(layer, "layers"):
            found |= classes_of(layer)
    return found


def leaf_layers(m):
    for layer in m.layers:
        if hasattr(layer, "layers") and layer.__class__.__name__ in (
            "Functional",
            "Sequential",
            "Model",
        ):
            yield from leaf_layers(layer)
        else:
            yield layer


def seed_weights(m, rng: np.random.Generator) -> None:
    """Non-trivial weights everywhere: seeded values, variances positive (trained-looking
    BatchNormalization statistics). Normalization keeps its given mean and variance."""
    for layer in leaf_layers(m):
        if type(layer).__name__ == "Normalization":
            continue
        values = []
        for var, arr in zip(layer.weights, layer.get_weights(), strict=True):
            path = getattr(var, "path", None) or var.name
            if "variance" in path:
                values.append(rng.uniform(0.5, 2.0, arr.shape).astype(arr.dtype))
            elif np.issubdtype(arr.dtype, np.floating):
                values.append((rng.standard_normal(arr.shape) * 0.5).astype(arr.dtype))
            else:
                values.append(arr)
        if values:
            layer.set_weights(values)


def seeded_inputs(m, rng: np.random.Generator) -> list[np.ndarray]:
    out = []
    for tensor in m.inputs:
        shape = (BATCH, *tensor.shape[1:])
        dtype = tensor.dtype if isinstance(tensor.dtype, str) else tensor.dtype.name
        if "int" in str(dtype):
            ids = rng.integers(1, VOCAB, shape).astype("int32")
            ids[:, -2:] = 0  # padding: masked steps
            out.append(ids)
        else:
            x = rng.standard_normal(shape).astype("float32")
            if len(shape) == 3 and tensor.shape[-1] == 3 and shape[1] == 5:
                x[:, -1:] = 0.0  # a Masking step
            out.append(x)
    return out


if __name__ == "__main__":
    main()
