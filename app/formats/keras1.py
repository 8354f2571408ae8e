"""Keras 1 layer configs in Keras 2's words, by rule for every class (Keras 2's own
`legacy/interfaces.py` conversions): what the registry, our forward and Keras 3 read.

    output_dim → units             nb_filter → filters          (nb_row, nb_col) → kernel_size
    init → kernel_initializer      inner_init → recurrent_initializer
    inner_activation → recurrent_activation                     border_mode → padding
    subsample → strides            dim_ordering → data_format ("tf" → channels_last, "th" → ...)
    W_/b_/U_regularizer, W_/b_/U_constraint → kernel_/bias_/recurrent_...
    bias → use_bias                p → rate (Dropout)
    dropout_W → dropout            dropout_U → recurrent_dropout
    beta_init/gamma_init → beta_/gamma_initializer               atrous_rate → dilation_rate
    filter_length → kernel_size, subsample_length → strides (Convolution1D)
    pool_length → pool_size, stride → strides (MaxPooling1D, AveragePooling1D)
    length → size (UpSampling1D)
    Deconvolution2D: output_shape dropped (Keras 2 dropped it: the shape follows from the
        input, the kernel, the strides and the padding)
    Embedding: init, W_regularizer, W_constraint → embeddings_...; dropout dropped (Keras 2
        dropped it: it drops whole words in training only)
    PReLU: init → alpha_initializer            GaussianNoise: sigma → stddev
    BatchNormalization: mode 0 (its default, the only one Keras 2 took) dropped
    LSTM: forget_bias_init "one"/"zero" → unit_forget_bias true/false
    consume_less "cpu"/"mem"/"gpu" → implementation 1/1/2 (Keras 3 has no 0)

A Keras 1 key with no Keras 2 counterpart (`unmapped_keys`: BatchNormalization `mode` 1,
which normalized each sample; `forget_bias_init` or `consume_less` of another value; a key
none of these lists maps and the class does not read) is refused, every one of the model in
one answer (app.formats.config).

A config with none of these keys is given back as it is. Weight names: `<layer>_W` is the
kernel, `_running_std` the moving variance (KERAS1_WEIGHT_ROLES, used by analysis.resolve).
"""

from __future__ import annotations

import json
from typing import Any

from app.layers.registry import lookup
from app.safety.allowlist import KERAS1_CLASSES

# Keras 1 weight names (`conv1_W`, `bn0_running_mean`), without the layer's name, in Keras 2's.
KERAS1_WEIGHT_ROLES = {
    "W": "kernel",
    "b": "bias",
    "U": "recurrent_kernel",
    "running_mean": "moving_mean",
    "running_std": "moving_variance",
}
RENAMED = {
    "output_dim": "units",
    "nb_filter": "filters",
    "init": "kernel_initializer",
    "inner_init": "recurrent_initializer",
    "inner_activation": "recurrent_activation",
    "border_mode": "padding",
    "subsample": "strides",
    "subsample_length": "strides",
    "filter_length": "kernel_size",
    "W_regularizer": "kernel_regularizer",
    "b_regularizer": "bias_regularizer",
    "U_regularizer": "recurrent_regularizer",
    "W_constraint": "kernel_constraint",
    "b_constraint": "bias_constraint",
    "U_constraint": "recurrent_constraint",
    "bias": "use_bias",
    "dropout_W": "dropout",
    "dropout_U": "recurrent_dropout",
    "beta_init": "beta_initializer",
    "gamma_init": "gamma_initializer",
    "atrous_rate": "dilation_rate",
    "pool_length": "pool_size",
}
BY_CLASS = {  # where Keras 2 gave a Keras 1 key another name for one class
    "Embedding": {
        "init": "embeddings_initializer",
        "W_regularizer": "embeddings_regularizer",
        "W_constraint": "embeddings_constraint",
    },
    "PReLU": {"init": "alpha_initializer"},
    "GaussianNoise": {"sigma": "stddev"},
    "MaxPooling1D": {"stride": "strides"},
    "AveragePooling1D": {"stride": "strides"},
    "UpSampling1D": {"length": "size"},
}
FORGET_BIAS = {"one": True, "zero": False}
IMPLEMENTATIONS = {"cpu": 1, "mem": 1, "gpu": 2}
KERNEL_SIZE = ("nb_row", "nb_col", "kernel_dim1", "kernel_dim2", "kernel_dim3")
DATA_FORMATS = {"tf": "channels_last", "th": "channels_first", "default": "channels_last"}
KERAS1_UNREAD = "_keras1_unread"  # a node config's Keras 1 keys no list maps (formats.config)
DROPPED = ("input_dtype",)  # Keras 1's dtype of the InputLayer it made; `dtype` says it
DROPPED_BY_CLASS = {"Deconvolution2D": ("output_shape",)}  # Keras 2 dropped it too
# `output_dim` is Keras 2's too (Embedding's): it marks a Keras 1 config only on the classes
# `is_keras1` names. No Keras 2 or 3 layer writes `stride` or `length`.
KERAS1_KEYS = frozenset(
    {*RENAMED, *KERNEL_SIZE, "dim_ordering", "p", *DROPPED, "sigma", "forget_bias_init"}
    | {"consume_less", "stride", "length"}
) - {"output_dim"}


def is_keras1(class_name: str, config: dict[str, Any]) -> bool:
    """Whether `config` holds a key only Keras 1 wrote (one set operation: asking each of
    the 32 keys of the config took ResNet50's 177 layers ~0.5 ms), or `output_dim` on a
    registered class other than Embedding, the one Keras 2 and 3 layer that names a setting
    so (a wrapped `LSTM(output_dim=...)` may show nothing else; a custom class may name its
    own setting so)."""
    if not KERAS1_KEYS.isdisjoint(config):
        return True
    return "output_dim" in config and class_name != "Embedding" and lookup(class_name) is not None


def keras2_config(class_name: str, config: dict[str, Any]) -> dict[str, Any]:
    """`config` in Keras 2's keys (a new dict; the given one is left as it is)."""
    if not is_keras1(class_name, config):
        return config
    out = {_renamed(class_name, key): value for key, value in config.items()}
    sizes = [out.pop(key) for key in KERNEL_SIZE if key in out]
    if sizes:
        out["kernel_size"] = sizes
    if "dim_ordering" in out:  # the Keras 3 copy renames objects no field check reads
        ordering = out.pop("dim_ordering")
        key = ordering if isinstance(ordering, str) else "default"
        out["data_format"] = DATA_FORMATS.get(key, "channels_last")
    if "p" in out and class_name.endswith("Dropout"):
        out["rate"] = out.pop("p")
    for key in (*DROPPED, *DROPPED_BY_CLASS.get(class_name, ())):
        out.pop(key, None)
    if "input_dim" in out and out["input_dim"] is None:  # Keras 1 wrote it unset
        del out["input_dim"]
    if class_name == "Embedding":
        out.pop("dropout", None)
    if class_name == "BatchNormalization" and out.get("mode") == 0:  # Keras 2 took only 0
        del out["mode"]
    if out.get("forget_bias_init") in FORGET_BIAS:
        out["unit_forget_bias"] = FORGET_BIAS[out.pop("forget_bias_init")]
    if out.get("consume_less") in IMPLEMENTATIONS:
        out["implementation"] = IMPLEMENTATIONS[out.pop("consume_less")]
    return out


def unmapped_keys(class_name: str, config: dict[str, Any]) -> list[str]:
    """A layer config's Keras 1 keys (`key=value`) that Keras 2 has no counterpart for, read
    from the config `keras2_config` gave (those keys are left in it as they were)."""
    found = [
        f"{key}={json.dumps(config[key])}"
        for key in dict.fromkeys(
            ("forget_bias_init", "consume_less", *config.get(KERAS1_UNREAD, ()))
        )
        if key in config
    ]
    # Keras 2 refused `mode` ≠ 0; mode 2 (batch statistics at inference) is explained, with
    # a warning (app.analysis.report); mode 1 normalized each sample on its own.
    if class_name == "BatchNormalization" and config.get("mode") not in (None, 0, 2):
        found.append(f"mode={json.dumps(config['mode'])}")
    return found


def _renamed(class_name: str, key: str) -> str:
    if key == "output_dim" and class_name == "Embedding":  # Embedding kept its name
        return key
    return BY_CLASS.get(class_name, {}).get(key) or RENAMED.get(key, key)


def keras2_class(class_name: str) -> str:
    """The class Keras 2 gave a Keras 1 class (`Deconvolution2D`: `Conv2DTranspose`)."""
    return KERAS1_CLASSES.get(class_name, class_name)
