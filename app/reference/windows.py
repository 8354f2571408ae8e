"""Sliding windows over channels-last tensors, shared by convolution and pooling.

Tensors here are channels-last, `(N, *S, C)` with `r = len(S)` spatial axes. A window view
is built with `np.lib.stride_tricks.as_strided` (no copy): shape `(N, *O, *K, C)`, where
`O` are the output positions and `K` the kernel taps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Pads = list[tuple[int, int]]


def effective_size(kernel: int, dilation: int) -> int:
    """Extent of a dilated kernel: (kernel − 1)·dilation + 1."""
    return (kernel - 1) * dilation + 1


def padding_amounts(
    sizes: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilation: Sequence[int],
    padding: str,
) -> Pads:
    """(before, after) per spatial axis for Keras' `valid`, `same` or `causal` padding.

    same (TensorFlow's rule): out = ⌈size / stride⌉,
    total = max((out − 1)·stride + k_eff − size, 0), before = ⌊total / 2⌋, after = the rest.
    causal (Conv1D): before = k_eff − 1, after = 0.
    """
    padding = padding.lower()
    pads = []
    for size, k, s, d in zip(sizes, kernel, strides, dilation, strict=True):
        k_eff = effective_size(k, d)
        if padding == "valid":
            pads.append((0, 0))
        elif padding == "causal":
            pads.append((k_eff - 1, 0))
        elif padding == "same":
            out = -(-size // s)
            total = max((out - 1) * s + k_eff - size, 0)
            pads.append((total // 2, total - total // 2))
        else:
            raise ValueError(f"unknown padding {padding!r}")
    return pads


def pad_spatial(x: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    """Pad (or, for negative amounts, crop) the spatial axes of `x` (N, *S, C)."""
    if all(p == (0, 0) for p in pads):
        return x
    crop = tuple(slice(max(-b, 0), x.shape[i + 1] - max(-a, 0)) for i, (b, a) in enumerate(pads))
    x = x[(slice(None), *crop, slice(None))]
    widths = [(0, 0), *((max(b, 0), max(a, 0)) for b, a in pads), (0, 0)]
    return np.pad(x, widths, constant_values=np.asarray(value, x.dtype))


def windows(
    x: np.ndarray, kernel: Sequence[int], strides: Sequence[int], dilation: Sequence[int]
) -> np.ndarray:
    """Read-only window view of `x` (N, *S, C): shape (N, *O, *K, C), no copy.

    view[n, o…, k…, c] = x[n, o_i·stride_i + k_i·dilation_i …, c], with
    O_i = ⌊(S_i − k_eff_i) / stride_i⌋ + 1.
    """
    spatial = x.shape[1:-1]
    out = tuple(
        (size - effective_size(k, d)) // s + 1
        for size, k, s, d in zip(spatial, kernel, strides, dilation, strict=True)
    )
    if min(out, default=1) <= 0:
        raise ValueError(f"input {spatial} is smaller than the window {tuple(kernel)}")
    step = x.strides[1:-1]
    shape = (x.shape[0], *out, *kernel, x.shape[-1])
    strides_ = (
        x.strides[0],
        *(st * s for st, s in zip(step, strides, strict=True)),
        *(st * d for st, d in zip(step, dilation, strict=True)),
        x.strides[-1],
    )
    return np.lib.stride_tricks.as_strided(x, shape, strides_, writeable=False)


def taps(view: np.ndarray, rank: int) -> list[np.ndarray]:
    """The window view split into one (N, *O, C) view per kernel tap, in row-major order."""
    kernel = view.shape[1 + rank : 1 + 2 * rank]
    lead = (slice(None),) * (1 + rank)
    return [view[(*lead, *k)] for k in np.ndindex(*kernel)]
