"""Categorical preprocessing layers: CategoryEncoding and Hashing (numeric inputs).

Hashing hashes each value's decimal text as TensorFlow's `tf.strings.to_hash_bucket_fast`
does, with FarmHash's Fingerprint64 (`farmhashna::Hash64`); its text is at most 20 bytes
(an int64), so only FarmHash's paths for 0-16 and 17-32 bytes are needed. The arithmetic is
on Python integers modulo 2⁶⁴, once per distinct value.
"""

from __future__ import annotations

import numpy as np

from app.errors import UnsupportedModel
from app.graph import variable_dtype
from app.reference.forwards import Config, Weights, forward, single

MASK64 = (1 << 64) - 1
K0, K1, K2 = 0xC3A5C85C97CB3127, 0xB492B66FBE98F273, 0x9AE16A3B2F90404F


def encode(ids: np.ndarray, mode: str, depth: int, dtype: str) -> np.ndarray:
    """Keras' `encode_categorical_inputs`: ids (…) → int: the ids; one_hot: (…, depth) (a
    trailing axis of 1 dropped first); multi_hot/count: one_hot reduced (max/sum) over axis
    1, or 0 for rank 1 (for rank 2 that is the last axis, as TensorFlow's bincount takes it).
    An id outside [0, depth) sets nothing, as in `one_hot`."""
    if mode == "int":
        return ids.astype(dtype)
    ids = ids.reshape(1) if ids.ndim == 0 else ids
    if mode == "one_hot" and ids.ndim > 1 and ids.shape[-1] == 1:
        ids = ids[..., 0]
    hot = ids[..., None] == np.arange(depth)
    if mode == "one_hot":
        return hot.astype(dtype)
    axis = 1 if ids.ndim > 1 else 0
    if mode == "multi_hot":
        return hot.any(axis=axis).astype(dtype)
    return hot.sum(axis=axis).astype(dtype)


def _refuse(class_name: str, config: Config, inputs: list[np.ndarray], training) -> None:
    if config.get("sparse", False):
        raise UnsupportedModel(
            f"{class_name} with sparse=True gives a sparse tensor, which the reference does "
            "not produce.",
            {"class_name": class_name, "sparse": True},
        )
    if len(inputs) > 1:
        raise UnsupportedModel(
            f"{class_name} was given count_weights, which the reference does not take.",
            {"class_name": class_name},
        )


@forward("CategoryEncoding")
def category_encoding(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """CategoryEncoding: integer ids (…) → one_hot (…, num_tokens), or multi_hot/count
    (…[:-1], num_tokens), in the layer's dtype (float32 by default)."""
    _refuse("CategoryEncoding", config, inputs, training)
    mode = config.get("output_mode", "multi_hot")
    mode = "multi_hot" if mode == "binary" else mode
    ids = single(inputs).astype(np.int64)
    return encode(ids, mode, int(config["num_tokens"]), variable_dtype(config))


def _fetch(s: bytes, at: int, size: int) -> int:
    return int.from_bytes(s[at : at + size], "little")


def _rotate(v: int, shift: int) -> int:
    return ((v >> shift) | (v << (64 - shift))) & MASK64 if shift else v


def _hash_len16(u: int, v: int, mul: int) -> int:
    a = ((u ^ v) * mul) & MASK64
    a ^= a >> 47
    b = ((v ^ a) * mul) & MASK64
    b ^= b >> 47
    return (b * mul) & MASK64


def fingerprint64(s: bytes) -> int:
    """FarmHash Fingerprint64 of up to 32 bytes (farmhashna: HashLen0to16, HashLen17to32)."""
    n = len(s)
    if n > 32:
        raise ValueError("fingerprint64 here takes at most 32 bytes")
    mul = (K2 + 2 * n) & MASK64
    if n > 16:
        a = (_fetch(s, 0, 8) * K1) & MASK64
        b = _fetch(s, 8, 8)
        c = (_fetch(s, n - 8, 8) * mul) & MASK64
        d = (_fetch(s, n - 16, 8) * K2) & MASK64
        u = (_rotate((a + b) & MASK64, 43) + _rotate(c, 30) + d) & MASK64
        v = (a + _rotate((b + K2) & MASK64, 18) + c) & MASK64
        return _hash_len16(u, v, mul)
    if n >= 8:
        a = (_fetch(s, 0, 8) + K2) & MASK64
        b = _fetch(s, n - 8, 8)
        c = (_rotate(b, 37) * mul + a) & MASK64
        d = ((_rotate(a, 25) + b) * mul) & MASK64
        return _hash_len16(c, d, mul)
    if n >= 4:
        return _hash_len16((n + (_fetch(s, 0, 4) << 3)) & MASK64, _fetch(s, n - 4, 4), mul)
    if n > 0:
        y = (s[0] + (s[n >> 1] << 8)) & 0xFFFFFFFF
        z = (n + (s[n - 1] << 2)) & 0xFFFFFFFF
        h = ((y * K2) ^ (z * K0)) & MASK64
        return ((h ^ (h >> 47)) * K2) & MASK64
    return K2


def hashed_bins(values: np.ndarray, num_bins: int, mask_value) -> np.ndarray:
    """Each value's bin: Fingerprint64(its decimal text) mod num_bins (floats truncated to
    int64 first). With mask_value (and num_bins > 1): mod num_bins − 1, plus 1, and
    mask_value's bin is 0."""
    masked = mask_value is not None and num_bins > 1
    bins = num_bins - 1 if masked else num_bins
    ids = values.astype(np.int64)
    distinct, where = np.unique(ids, return_inverse=True)
    hashed = np.array([fingerprint64(str(v).encode()) % bins for v in distinct.tolist()])
    out = hashed.astype(np.int64)[where].reshape(values.shape)
    if masked:
        out = np.where(values == mask_value, 0, out + 1)
    return out


@forward("Hashing")
def hashing(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Hashing (numeric inputs): values (…) → their bins, encoded by output_mode (int: same
    shape, in int64 unless the layer's dtype says int32; one_hot, multi_hot, count: as
    CategoryEncoding with num_tokens = num_bins, in float32)."""
    _refuse("Hashing", config, inputs, training)
    if config.get("salt") is not None:
        raise UnsupportedModel(
            "Hashing with a salt uses SipHash (to_hash_bucket_strong), which the reference "
            "does not compute.",
            {"class_name": "Hashing", "salt": True},
        )
    x = single(inputs)
    if x.dtype.kind not in "iuf":
        raise UnsupportedModel(
            f"Hashing of {x.dtype} values (strings) is not computed by the reference.",
            {"class_name": "Hashing", "dtype": str(x.dtype)},
        )
    mode = config.get("output_mode", "int")
    if mode == "one_hot" and x.ndim > 0 and x.shape[-1] == 1:
        x = x[..., 0]
    ids = hashed_bins(x, int(config["num_bins"]), config.get("mask_value"))
    default = "int64" if mode == "int" else "float32"
    dtype = variable_dtype(config) if config.get("dtype") is not None else default
    return encode(ids, mode, int(config["num_bins"]), dtype)


def lookup(class_name: str):
    """The forward of a vocabulary lookup (StringLookup, IntegerLookup, TextVectorization):
    refused. Their inputs are strings (or ids of a vocabulary held in the file's assets),
    which a check cannot draw at random, and the reference reads no vocabulary."""

    def refuse(config: Config, weights: Weights, inputs: list[np.ndarray], training):
        raise UnsupportedModel(
            f"{class_name} looks its inputs up in a vocabulary, which the reference does "
            "not do; the model is explained, but it cannot be checked.",
            {"class_name": class_name},
        )

    refuse.__doc__ = lookup.__doc__
    return refuse


forward("StringLookup")(lookup("StringLookup"))
forward("IntegerLookup")(lookup("IntegerLookup"))
forward("TextVectorization")(lookup("TextVectorization"))
