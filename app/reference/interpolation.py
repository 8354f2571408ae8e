"""Image resizing as `tf.image.resize` computes it, which is what Keras' Resizing calls.

Every method is separable: an axis of length L becomes one of length M, the height first,
then the width. With s = L / M (float32, as TensorFlow computes it) and output index i:

- nearest: src = min(⌊(i + ½)·s⌋, L − 1).
- bilinear: u = (i + ½)·s − ½, lo = max(⌊u⌋, 0), hi = min(⌈u⌉, L − 1), t = u − ⌊u⌋;
  out = a + (b − a)·t along the width, then along the height (TensorFlow's order).
- bicubic: Keys' cubic (a = −0.5) at u, its weights read from TensorFlow's 1024-entry table;
  taps outside [0, L) get weight 0 and the others are renormalized to sum 1.
- area: each output cell averages the input cells it covers, partial cells weighted by
  their covered fraction: out = Σ w_y·w_x·x / (s_h·s_w).
- lanczos3, lanczos5, and bilinear/bicubic with antialias: TensorFlow's ScaleAndTranslate,
  a kernel k (Lanczos, triangle, Keys cubic) centred at c = (i + ½)/σ with σ = M / L,
  stretched by max(1/σ, 1) when antialiasing; weights k((j + ½ − c)/stretch) over input
  cells j, normalized to sum 1.

Weighted methods become a (M, L) matrix per axis applied with `tensordot` (one BLAS call);
nearest and bilinear gather rows and columns. Images are (N, H, W, C); results are float32
as TensorFlow's are (nearest keeps the input's dtype). Index arithmetic mirrors TensorFlow's
float32 so that the taps, not just the values, agree.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32
TABLE_SIZE = 1024  # TensorFlow's bicubic coefficient table resolution
PI = F32(3.14159265359)  # TensorFlow's kPI, rounded to float32 as there
TINY = 1000.0 * np.finfo(np.float32).tiny  # below this a weight sum is not renormalized


def resize_scale(length: int, size: int) -> np.float32:
    """s = L / M in float32 (TensorFlow's `CalculateResizeScale` without align_corners)."""
    return F32(length) / F32(size)


def half_pixel(length: int, size: int) -> np.ndarray:
    """u_i = (i + ½)·s − ½ in float32: output cell centres in input coordinates."""
    return (np.arange(size, dtype=F32) + F32(0.5)) * resize_scale(length, size) - F32(0.5)


def nearest_indices(length: int, size: int) -> np.ndarray:
    """src_i = min(⌊(i + ½)·s⌋, L − 1) (TensorFlow's half-pixel nearest neighbour)."""
    src = (np.arange(size, dtype=F32) + F32(0.5)) * resize_scale(length, size)
    return np.minimum(np.floor(src).astype(np.int64), length - 1)


def linear_taps(length: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lo, hi, t) of bilinear interpolation along one axis; see the module docstring."""
    u = half_pixel(length, size)
    floor = np.floor(u)
    lo = np.maximum(floor.astype(np.int64), 0)
    hi = np.minimum(np.ceil(u).astype(np.int64), length - 1)
    return lo, hi, u - floor


def bilinear(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(N, H, W, C) → (N, M_h, M_w, C): top = a + (b − a)·t_x on the rows lo_y and hi_y,
    then out = top + (bottom − top)·t_y, in TensorFlow's order of operations."""
    lo_y, hi_y, t_y = linear_taps(x.shape[1], size[0])
    lo_x, hi_x, t_x = linear_taps(x.shape[2], size[1])
    t_x = t_x[None, None, :, None]

    def across(rows: np.ndarray) -> np.ndarray:
        left = rows[:, :, lo_x]
        return left + (rows[:, :, hi_x] - left) * t_x

    top, bottom = across(x[:, lo_y]), across(x[:, hi_y])
    return top + (bottom - top) * t_y[None, :, None, None]


def nearest(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(N, H, W, C) → (N, M_h, M_w, C), picking the nearest input cell on each axis."""
    rows = x[:, nearest_indices(x.shape[1], size[0])]
    return rows[:, :, nearest_indices(x.shape[2], size[1])]


def apply_separable(x: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """out[n, i, j, c] = Σ_{y, x} rows[i, y] · cols[j, x] · x[n, y, x, c], height first."""
    tall = np.moveaxis(np.tensordot(rows, x, axes=([1], [1])), 0, 1)  # (N, M_h, W, C)
    return np.moveaxis(np.tensordot(cols, tall, axes=([1], [2])), 0, 2)  # (N, M_h, M_w, C)


def scatter(size: int, length: int, columns: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A (size, length) matrix with values[i, k] added at column columns[i, k] of row i."""
    matrix = np.zeros((size, length), F32)
    rows = np.broadcast_to(np.arange(size)[:, None], columns.shape)
    np.add.at(matrix, (rows, columns), values)
    return matrix


def normalized(weights: np.ndarray) -> np.ndarray:
    """Each row of weights times 1 / (its float32 sum), unless the sum is about 0."""
    total = np.zeros(weights.shape[0], F32)
    for k in range(weights.shape[1]):  # TensorFlow sums tap by tap
        total += weights[:, k]
    safe = np.abs(total) >= TINY
    factor = np.where(safe, F32(1.0) / np.where(safe, total, F32(1.0)), F32(1.0))
    return weights * factor[:, None]


def cubic_table() -> np.ndarray:
    """TensorFlow's Keys-cubic (a = −0.5) coefficient table, (TABLE_SIZE + 1, 2) float32:
    [k(t), k(t + 1)] at t = i / TABLE_SIZE, computed in double and stored in float."""
    a = -0.5
    t = (np.arange(TABLE_SIZE + 1) / TABLE_SIZE).astype(F32).astype(np.float64)
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far_t = (t.astype(F32) + F32(1.0)).astype(np.float64)
    far = ((a * far_t - 5 * a) * far_t + 8 * a) * far_t - 4 * a
    return np.stack([near, far], axis=1).astype(F32)


def bicubic_weights(length: int, size: int) -> np.ndarray:
    """The (M, L) matrix of Keys-cubic interpolation at the half-pixel centres u_i."""
    u = half_pixel(length, size)
    base = np.floor(u).astype(np.int64)
    offset = np.rint((u - base.astype(F32)) * F32(TABLE_SIZE)).astype(np.int64)
    table = cubic_table()
    taps = np.stack(
        [
            table[offset, 1],
            table[offset, 0],
            table[TABLE_SIZE - offset, 0],
            table[TABLE_SIZE - offset, 1],
        ],
        axis=1,
    )
    columns = base[:, None] + np.arange(-1, 3)[None, :]
    inside = (columns >= 0) & (columns < length)
    taps = normalized(np.where(inside, taps, F32(0.0)))
    return scatter(size, length, np.clip(columns, 0, length - 1), taps)


def area_weights(length: int, size: int) -> np.ndarray:
    """The (M, L) matrix of TensorFlow's area resize, without its final 1 / (s_h·s_w).

    Output i covers [i·s, (i + 1)·s); input cell j contributes the covered part of
    [j, j + 1) (1 when whole).
    """
    s = resize_scale(length, size)
    start = np.arange(size, dtype=F32) * s
    end = np.arange(1, size + 1, dtype=F32) * s
    first = np.floor(start).astype(np.int64)
    span = int(np.max(np.ceil(end).astype(np.int64) - first))
    cells = first[:, None] + np.arange(span)[None, :]
    lo, hi = start[:, None], end[:, None]
    left, right = cells.astype(F32), (cells + 1).astype(F32)
    whole = np.where(right > hi, hi - left, F32(1.0))
    cut = np.where(right > hi, np.broadcast_to(s, cells.shape), right - lo)
    covered = np.where(left < lo, cut, whole)
    covered = np.where(cells < np.ceil(end).astype(np.int64)[:, None], covered, F32(0.0))
    return scatter(size, length, np.clip(cells, 0, length - 1), covered)


def area(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(N, H, W, C) → (N, M_h, M_w, C) by TensorFlow's area averaging."""
    s_h, s_w = resize_scale(x.shape[1], size[0]), resize_scale(x.shape[2], size[1])
    rows, cols = area_weights(x.shape[1], size[0]), area_weights(x.shape[2], size[1])
    return apply_separable(x, rows, cols) * F32(1.0 / (s_h * s_w))


def lanczos(radius: float):
    """TensorFlow's Lanczos kernel: r·sin(πx)·sin(πx/r) / (πx)² for |x| ≤ r, 1 near 0."""

    def kernel(x: np.ndarray) -> np.ndarray:
        safe = np.where(x <= F32(1e-3), F32(1.0), x)
        value = (
            F32(radius)
            * np.sin(PI * safe)
            * np.sin(PI * safe / F32(radius))
            / (PI * PI * safe * safe)
        )
        return np.where(x > F32(radius), F32(0.0), np.where(x <= F32(1e-3), F32(1.0), value))

    return kernel, radius


def triangle(x: np.ndarray) -> np.ndarray:
    """1 − |x| inside (−1, 1), else 0."""
    return np.where(x < F32(1.0), F32(1.0) - x, F32(0.0))


def keys_cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic with a = −0.5 (TensorFlow's `KeysCubicKernelFunc`)."""
    near = ((F32(1.5) * x - F32(2.5)) * x) * x + F32(1.0)
    far = ((F32(-0.5) * x + F32(2.5)) * x - F32(4.0)) * x + F32(2.0)
    return np.where(x >= F32(2.0), F32(0.0), np.where(x >= F32(1.0), far, near))


SAMPLING_KERNELS = {
    "lanczos3": lanczos(3.0),
    "lanczos5": lanczos(5.0),
    "bilinear": (triangle, 1.0),
    "bicubic": (keys_cubic, 2.0),
}


def sampling_weights(method: str, length: int, size: int, antialias: bool) -> np.ndarray:
    """The (M, L) matrix of TensorFlow's ScaleAndTranslate (no translation) along one axis."""
    kernel, radius = SAMPLING_KERNELS[method]
    inv_scale = F32(1.0 / float(F32(size) / F32(length)))
    stretch = max(inv_scale, F32(1.0)) if antialias else F32(1.0)
    reach = F32(radius) * stretch
    centre = (np.arange(size, dtype=F32) + F32(0.5)) * inv_scale
    first = np.clip(np.ceil(centre - reach - F32(0.5)).astype(np.int64), 0, length - 1)
    last = np.clip(np.floor(centre + reach - F32(0.5)).astype(np.int64), 0, length - 1)
    cells = first[:, None] + np.arange(int(np.max(last - first)) + 1)[None, :]
    position = cells.astype(F32) + F32(0.5) - centre[:, None]
    taps = kernel(np.abs(position * (F32(1.0) / stretch)))
    taps = normalized(np.where(cells <= last[:, None], taps, F32(0.0)))
    return scatter(size, length, np.clip(cells, 0, length - 1), taps)


def resize(x: np.ndarray, size: tuple[int, int], method: str, antialias: bool = False):
    """`tf.image.resize(x, size, method, antialias)` for (N, H, W, C) images.

    Methods: nearest, bilinear, bicubic, area, lanczos3, lanczos5; antialias changes
    bilinear, bicubic and the Lanczos kernels (when shrinking).
    """
    if method == "nearest":
        return nearest(x, size)
    x = x.astype(F32, copy=False)
    if method == "area":
        return area(x, size)
    if method in SAMPLING_KERNELS and (antialias or method.startswith("lanczos")):
        rows = sampling_weights(method, x.shape[1], size[0], antialias)
        cols = sampling_weights(method, x.shape[2], size[1], antialias)
        return apply_separable(x, rows, cols)
    if method == "bilinear":
        return bilinear(x, size)
    if method == "bicubic":
        return apply_separable(
            x, bicubic_weights(x.shape[1], size[0]), bicubic_weights(x.shape[2], size[1])
        )
    raise ValueError(f"unknown interpolation {method!r}")
