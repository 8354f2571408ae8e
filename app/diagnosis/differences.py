"""What their numbers look like beside Keras' when no known mistake reproduces them.

    describe(layer, theirs, keras, tolerance) -> Difference

Tried in order, each within `tolerance` of Keras' scale: a constant factor (theirs = c ·
keras), a constant shift (theirs = keras + c), a factor per channel (the last axis),
transposed (the last two axes swapped), the channels (last axis) permuted, off at the
borders only (the first or last row or column of the spatial axes of a rank-3+ tensor);
else "unexplained", with where the largest difference is.
"""

from __future__ import annotations

import numpy as np

from app.diagnosis.schemas import Difference


def describe(layer: str, theirs: np.ndarray, keras: np.ndarray, tolerance: float) -> Difference:
    a, k = np.asarray(theirs, np.float64), np.asarray(keras, np.float64)
    limit = tolerance * max(float(np.max(np.abs(k), initial=0.0)), 1e-30)
    for shape in (_factor, _shift, _channel_factor, _transposed, _permuted, _borders):
        found = shape(layer, a, k, limit)
        if found is not None:
            return found
    index = np.unravel_index(int(np.argmax(np.abs(a - k))), a.shape) if a.size else ()
    return Difference(
        layer=layer,
        shape="unexplained",
        message=f"Theirs part from Keras at {layer} with no simple shape: the largest "
        f"difference, {float(np.max(np.abs(a - k), initial=0.0)):.3g}, is at index "
        f"{tuple(int(i) for i in index)}.",
        value=[int(i) for i in index],
    )


def _close(a: np.ndarray, b: np.ndarray, limit: float) -> bool:
    return a.shape == b.shape and float(np.max(np.abs(a - b), initial=0.0)) <= limit


def _factor(layer, a, k, limit):
    norm = float(np.sum(k * k))
    if norm == 0:
        return None
    c = float(np.sum(a * k)) / norm
    if not _close(a, c * k, limit) or abs(c - 1) * np.max(np.abs(k)) <= limit:
        return None
    return Difference(
        layer=layer,
        shape="constant-factor",
        message=f"Theirs are Keras' times a constant factor {c:.6g}, from {layer} on.",
        value=c,
    )


def _shift(layer, a, k, limit):
    c = float(np.mean(a - k))
    if not _close(a, k + c, limit) or abs(c) <= limit:
        return None
    return Difference(
        layer=layer,
        shape="constant-shift",
        message=f"Theirs are Keras' plus a constant {c:.6g}, from {layer} on.",
        value=c,
    )


def _channel_factor(layer, a, k, limit):
    if a.ndim < 2:
        return None
    axes = tuple(range(a.ndim - 1))
    norm = np.sum(k * k, axis=axes)
    c = np.divide(np.sum(a * k, axis=axes), norm, out=np.ones_like(norm), where=norm > 0)
    if not _close(a, k * c, limit):
        return None
    return Difference(
        layer=layer,
        shape="per-channel-factor",
        message=f"Theirs are Keras' times a factor per channel (last axis) at {layer}: "
        f"{', '.join(f'{v:.4g}' for v in c[:8])}{' …' if c.size > 8 else ''}.",
    )


def _transposed(layer, a, k, limit):
    if a.ndim < 2 or not _close(a, np.swapaxes(k, -1, -2), limit):
        return None
    return Difference(
        layer=layer,
        shape="transposed",
        message=f"Theirs at {layer} are Keras' with the last two axes swapped (transposed).",
    )


def _permuted(layer, a, k, limit):
    if a.ndim < 2 or a.shape[-1] < 2:
        return None
    cols_a, cols_k = a.reshape(-1, a.shape[-1]).T, k.reshape(-1, k.shape[-1]).T
    permutation = []
    for column in cols_a:
        match = [j for j, other in enumerate(cols_k) if _close(column, other, limit)]
        if not match:
            return None
        permutation.append(match[0])
    if permutation == list(range(len(permutation))):
        return None
    return Difference(
        layer=layer,
        shape="permuted-channels",
        message=f"Theirs at {layer} are Keras' with the channels (last axis) in another "
        f"order: theirs[..., i] = keras[..., p[i]], p = {permutation[:16]}.",
        value=permutation,
    )


def _borders(layer, a, k, limit):
    if a.ndim < 3:
        return None
    off = np.abs(a - k) > limit
    interior = off[(slice(None),) + tuple(slice(1, -1) for _ in range(a.ndim - 2)) + (slice(None),)]
    if interior.size == 0 or interior.any() or not off.any():
        return None
    return Difference(
        layer=layer,
        shape="borders-only",
        message=f"Theirs at {layer} match Keras inside and part from it only at the borders "
        "(the first or last positions of the spatial axes): padding, most likely.",
    )
