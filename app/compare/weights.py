"""Per weight of the same role: shape change, max |b − a|, ‖b − a‖ / ‖a‖, equal bit for bit.

Weights of a matched pair of layers are paired by their variable path in the layer
(`kernel`, `forward_lstm/lstm_cell/kernel`), then, for those left, by role in order. Values
are read block by block (`app.analysis.stats.value_blocks`), both sides at once, so memory
stays bounded on the largest kernels; sums are in float64, on purpose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.analysis.stats import value_blocks
from app.compare.schemas import WeightDiff
from app.graph import WeightRef


@dataclass
class Sums:
    """What the relative change of several weights together needs."""

    change_squares: float = 0.0
    base_squares: float = 0.0

    def relative(self) -> float | None:
        if self.base_squares == 0.0:
            return 0.0 if self.change_squares == 0.0 else None
        return _finite(math.sqrt(self.change_squares / self.base_squares))


def weight_pairs(
    a: list[WeightRef], b: list[WeightRef]
) -> list[tuple[WeightRef | None, WeightRef | None]]:
    """a's weights with b's: by variable path, then by role in order; unpaired ones alone."""
    by_name = {w.name: w for w in b}
    paired = {id(w): by_name.pop(w.name) for w in a if w.name in by_name}
    left_b = [w for w in b if w.name in by_name]
    for w in a:
        if id(w) not in paired:
            same_role = next((x for x in left_b if x.role == w.role), None)
            if same_role is not None:
                left_b.remove(same_role)
                paired[id(w)] = same_role
    pairs: list[tuple[WeightRef | None, WeightRef | None]] = [(w, paired.get(id(w))) for w in a]
    return pairs + [(None, w) for w in left_b]


def weight_diff(a: WeightRef | None, b: WeightRef | None, sums: Sums) -> WeightDiff:
    """One pair's differences; the layer's `sums` gather its relative change."""
    shown = b if b is not None else a
    assert shown is not None
    fields = {
        "name": shown.name,
        "role": shown.role,
        "shape_a": list(a.shape) if a else None,
        "shape_b": list(b.shape) if b else None,
        "dtype_a": a.dtype if a else None,
        "dtype_b": b.dtype if b else None,
    }
    empty = {"bit_equal": None, "max_abs_change": None, "relative_change": None}
    if a is None or b is None:
        return WeightDiff(status="added" if a is None else "removed", **fields, **empty)
    if tuple(a.shape) != tuple(b.shape):
        return WeightDiff(status="shape-changed", **fields, **empty)
    if a.values is None or b.values is None:
        return WeightDiff(status="not-stored", **fields, **empty)
    measured = _measure(a, b)
    sums.change_squares += measured.change_squares
    sums.base_squares += measured.base_squares
    return WeightDiff(
        status="equal" if measured.bit_equal else "changed",
        bit_equal=measured.bit_equal,
        max_abs_change=measured.max_abs,
        relative_change=Sums(measured.change_squares, measured.base_squares).relative(),
        **fields,
    )


@dataclass
class _Measured:
    bit_equal: bool
    max_abs: float | None
    change_squares: float
    base_squares: float


def _measure(a: WeightRef, b: WeightRef) -> _Measured:
    """One pass over both arrays, block by block. b − a is taken in the weights' own float
    dtype (float32: within half an ulp of the difference), its squares and a's summed in
    float64 by `einsum`, which casts as it goes: no float64 copy of a block, and no BLAS call
    (OpenBLAS' threaded float64 `dot` took 25 times longer on a busy machine)."""
    same_dtype = np.dtype(a.dtype) == np.dtype(b.dtype) if _known(a.dtype, b.dtype) else False
    bit_equal, max_abs, change, base = same_dtype, 0.0, 0.0, 0.0
    for block in value_blocks(tuple(int(d) for d in a.shape)):
        x = np.asarray(a.values[block]).reshape(-1)  # type: ignore[index]
        y = np.asarray(b.values[block]).reshape(-1)  # type: ignore[index]
        base += _squares(x)
        if bit_equal and _same_bytes(x, y):
            continue  # nothing changed in this block
        bit_equal = False
        delta = np.subtract(y, x, dtype=np.result_type(x.dtype, y.dtype, np.float32))
        if delta.size:
            max_abs = max(max_abs, float(delta.max()), -float(delta.min()))
        change += _squares(delta)
    return _Measured(bit_equal, _finite(max_abs), change, base)


def _squares(values: np.ndarray) -> float:
    return float(np.einsum("i,i->", values, values, dtype=np.float64))


def _same_bytes(x: np.ndarray, y: np.ndarray) -> bool:
    """Equal bit for bit (two NaNs of the same bits too; +0.0 and -0.0 not)."""
    unsigned = np.dtype(f"u{x.itemsize}") if x.itemsize in (1, 2, 4, 8) else np.dtype("u1")
    return bool(np.array_equal(x.view(unsigned), y.view(unsigned)))


def _known(*dtypes: str) -> bool:
    try:
        for dtype in dtypes:
            np.dtype(dtype)
    except TypeError:
        return False
    return True


def _finite(value: float | None) -> float | None:
    """JSON has no NaN or Infinity: a weight holding them has no measured change."""
    return value if value is not None and math.isfinite(value) else None
