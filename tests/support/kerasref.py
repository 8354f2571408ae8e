"""What Keras itself builds and computes, for tests to compare the registry, readers and
reference against.

`call` runs a layer the same way on every CPU. TensorFlow's own CPU kernels cannot run some
convolutions that its oneDNN kernels (its default on newer x86 CPUs) run: those layers are
computed everywhere by an equivalent that every CPU runs (`equivalent_call`), chosen by the
layer's config alone, never by the machine.

Only tests import this module (it imports keras); the app never does.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import keras  # noqa: E402
import numpy as np  # noqa: E402

# What TensorFlow's own CPU kernels cannot run (tensorflow/core/kernels: "The Conv2D op
# currently only supports the NHWC tensor format on the CPU"; the transposed convolutions'
# Conv2D/Conv3DBackpropInput take NHWC/NDHWC only, and "Current CPU implementations do not
# yet support dilation rates larger than 1"). Keras 3 runs Conv1D and ConvLSTM1D/2D through
# Conv2D; for the other channels-first classes it transposes or uses XLA itself. Found by
# running every convolution class both ways on an AVX2-only CPU.
CHANNELS_LAST_ONLY = frozenset(
    {"Conv1D", "Conv2D", "ConvLSTM1D", "ConvLSTM2D"}
    | {"Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"}
)
UNDILATED_ONLY = frozenset({"Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"})


def layer_facts(class_name: str, config: dict[str, Any], input_shapes: list[tuple]) -> dict:
    """Build `class_name(**config)` on symbolic inputs of `input_shapes` (batch first).

    Returns {"weights": [(path_in_layer, shape, trainable), ...] in `layer.weights` order,
             "output_shape": shape or list of shapes}.
    """
    layer = getattr(keras.layers, class_name).from_config(dict(config))
    inputs = [keras.Input(batch_shape=shape) for shape in input_shapes]
    out = layer(inputs[0] if len(inputs) == 1 else inputs)
    return {
        "weights": [(weight_path(layer, w), tuple(w.shape), w.trainable) for w in layer.weights],
        "output_shape": _shapes(out),
    }


def weight_path(layer: Any, weight: Any) -> str:
    """`weight.path` without the layer's own name prefix: `kernel`, `cell/kernel`, ..."""
    path = weight.path
    prefix = layer.name + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


def _shapes(out: Any) -> Any:
    if isinstance(out, list | tuple):
        return [_shapes(o) for o in out]
    return tuple(out.shape)


def call(layer: Any, *args: Any, **kwargs: Any) -> Any:
    """`layer(*args, **kwargs)` eagerly, the same way on every CPU: a layer TensorFlow's own
    CPU kernels cannot run is computed by `equivalent_call` (on every machine alike)."""
    if lacks_cpu_kernel(layer):
        return equivalent_call(layer, *args, **kwargs)
    return layer(*args, **kwargs)


def lacks_cpu_kernel(layer: Any) -> bool:
    """True for a channels-first or dilated layer TensorFlow's own CPU kernels cannot run;
    decided by the layer's class and config (a wrapper's inner layer is not looked at: no
    test wraps one of these)."""
    name, config = type(layer).__name__, layer.get_config()
    channels_first = config.get("data_format") == "channels_first"
    return (name in CHANNELS_LAST_ONLY and channels_first) or (
        name in UNDILATED_ONLY and _dilated(config)
    )


def equivalent_call(layer: Any, *args: Any, **kwargs: Any) -> Any:
    """The layer's outputs (NumPy) from a channels-last, undilated twin given the same weights.

    Both rewrites are exact in arithmetic (the sums may be taken in another order):
    - channels-first is, by Keras' definition, channels-last with the channels axis moved
      before the spatial ones; the kernel has one layout for both. So: inputs with their
      channels axis moved last, the twin, outputs with it moved back.
    - a kernel of k taps dilated by d adds x·w[j] at offset j·d; a kernel of d·(k−1)+1 taps
      with w'[j·d] = w[j] and zeros between adds the same products at the same offsets (plus
      zeros), and Keras sizes and pads the output by that same effective kernel size.
    """
    if not layer.built:  # its weights, without running a kernel
        layer(*_symbolic(args), **_symbolic(kwargs))
    config = layer.get_config()
    spatial = len(config["kernel_size"])
    moved = config.get("data_format") == "channels_first"
    weights = [np.asarray(w.numpy()) for w in layer.weights]
    twin_config = {**config, "data_format": "channels_last"}
    if _dilated(config):
        weights, twin_config = _undilated(layer, weights, twin_config, spatial)
    twin = type(layer).from_config(twin_config)
    args, kwargs = _channels_last(args, spatial, moved), _channels_last(kwargs, spatial, moved)
    twin(*_symbolic(args), **_symbolic(kwargs))
    twin.set_weights(weights)
    outputs = keras.tree.map_structure(keras.ops.convert_to_numpy, twin(*args, **kwargs))
    return _channels_first(outputs, spatial) if moved else outputs


def _dilated(config: dict) -> bool:
    return any(d > 1 for d in np.ravel(config.get("dilation_rate", 1)))


def _undilated(layer: Any, weights: list, config: dict, spatial: int) -> tuple[list, dict]:
    """The weights with the kernel's taps spread `dilation_rate` apart (zeros between), and
    the config of the undilated layer that takes that kernel."""
    names = [w.path.rsplit("/", 1)[-1] for w in layer.weights]
    if "recurrent_kernel" in names:
        raise NotImplementedError("a dilated recurrent convolution needs no equivalent")
    rates = tuple(config["dilation_rate"])
    index = names.index("kernel")
    kernel = weights[index]
    sizes = tuple(d * (k - 1) + 1 for d, k in zip(rates, kernel.shape[:spatial], strict=True))
    spread = np.zeros(sizes + kernel.shape[spatial:], kernel.dtype)
    spread[tuple(slice(None, None, d) for d in rates)] = kernel
    config = {**config, "kernel_size": sizes, "dilation_rate": (1,) * spatial}
    return [*weights[:index], spread, *weights[index + 1 :]], config


def _channels_last(value: Any, spatial: int, moved: bool) -> Any:
    """Every array with channels before its `spatial` axes gets them last (masks, without a
    channels axis, are left alone)."""
    if not moved:
        return value
    return keras.tree.map_structure(
        lambda a: (
            np.moveaxis(a, -spatial - 1, -1)
            if isinstance(a, np.ndarray) and a.ndim >= spatial + 2
            else a
        ),
        value,
    )


def _channels_first(value: Any, spatial: int) -> Any:
    return keras.tree.map_structure(lambda a: np.moveaxis(a, -1, -spatial - 1), value)


def _symbolic(value: Any) -> Any:
    """Arrays (also inside lists and dicts) as KerasTensors of their shape and dtype."""
    return keras.tree.map_structure(
        lambda a: (
            keras.KerasTensor(a.shape, dtype=str(a.dtype)) if isinstance(a, np.ndarray) else a
        ),
        value,
    )


def per_layer_predict(model: Any, x: Any) -> list:
    """Keras itself, in this process: every layer's output via a sub-model's predict."""
    probe = keras.Model(model.inputs, [layer.output for layer in model.layers])
    return probe.predict(x, batch_size=len(x), verbose=0)
