"""Our reference forward against Keras' outputs, layer by layer.

For each layer, over all its calls and output tensors:

    max_abs_error = max |ours − keras|
    max_rel_error = max_abs_error / scale,  scale = max(max |keras|, SCALE_FLOOR)

so the error is read against the size of what the layer outputs (a softmax near 1e-3 and a
logit near 40 are held to the same standard), and an all-zero output does not divide by
zero. Positions where both sides are NaN agree; NaN on one side only is an infinite error.
Differences are measured in float64 on purpose: the measurement must not round them away.
A layer passes when max_rel_error ≤ tolerance; the first layer in execution order that does
not is the first divergence.

A layer whose dtype policy computes in float16 or bfloat16 (`mixed_float16`, ...) is held to
its dtype's precision instead (HALF_PRECISION_TOLERANCE, with a note saying so): Keras rounds
its output to 11 or 8 significant bits, and one step of rounding, where the two sides add in
another order, is already 4.9e-4 or 3.9e-3 of the largest value (app.reference.precision).
"""

from __future__ import annotations

import mmap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict

from app.graph import ModelGraph, compute_dtype
from app.reference.precision import half_compute_dtype
from app.schemas import CheckLayer, CheckOutput

SCALE_FLOOR = 1e-6
CHUNK = 1 << 16  # values compared at a time
LISTED_VALUES = 4096
# Four steps of the dtype's rounding at the top of a layer's output (2**-10 is float16's
# step between 1 and 2, 2**-7 bfloat16's): a layer computing in it is held to this.
HALF_PRECISION_TOLERANCE = {"float16": 4 * 2.0**-10, "bfloat16": 4 * 2.0**-7}
SIGNIFICANT_BITS = {"float16": 11, "bfloat16": 8}  # the leading 1 included


class ComparedModel(BaseModel):
    """What the comparison needs of a model: its layers in execution order (name, class
    name; InputLayers aside), the layers giving its outputs, and each layer's inbound
    layers (those whose outputs its calls take, InputLayers aside: app.check.rejudge keeps
    Keras' files of them until it is compared). Taken from the graph when the model is read
    (`compared_model`), so the check never reads the file again."""

    model_config = ConfigDict(extra="forbid")

    layers: list[tuple[str, str]]
    outputs: list[str]
    inbound: dict[str, list[str]] = {}
    # The layers computing in float16 or bfloat16, by name: held to that dtype's precision.
    precision: dict[str, str] = {}

    def held_to(self, name: str, tolerance: float) -> float:
        """The tolerance layer `name` is held to (`held_to`)."""
        return held_to(tolerance, self.precision.get(name))


def held_to(tolerance: float, precision: str | None) -> float:
    """The check's tolerance, or a half-precision dtype's when a layer computes in it."""
    return tolerance if precision is None else max(tolerance, HALF_PRECISION_TOLERANCE[precision])


def compared_model(graph: ModelGraph) -> ComparedModel:
    nodes = [node for node in graph.keras_layers() if node.class_name != "InputLayer"]
    halves = {node.name: half_compute_dtype(compute_dtype(node.config)) for node in nodes}
    return ComparedModel(
        layers=[(node.name, node.class_name) for node in nodes],
        outputs=[ref.layer for ref in graph.outputs],
        inbound={node.name: _inbound(graph, node) for node in nodes},
        precision={name: half for name, half in halves.items() if half is not None},
    )


def _inbound(graph: ModelGraph, node) -> list[str]:
    names = [ref.layer for refs in [*node.calls, *node.call_extras] for ref in refs]
    inputs = {ref.layer for ref in graph.inputs}
    return sorted({name for name in names if name not in inputs})


@dataclass
class Side:
    """One side's outputs: per layer name, every call's tensors in order; the model outputs.
    In a check both are memory-mapped on demand (app.check.keras_side.mapped_side): the
    comparison asks for one layer at a time and drops it before the next."""

    layers: Mapping[str, list[np.ndarray]]
    outputs: Sequence[np.ndarray]


@dataclass
class Comparison:
    layers: list[CheckLayer]
    outputs: list[CheckOutput]
    first_divergence: str | None
    tolerance: float
    precision: Mapping[str, str] = field(default_factory=dict)  # ComparedModel.precision

    def held_to(self, name: str) -> float:
        """The tolerance layer (or output layer) `name` is held to."""
        return held_to(self.tolerance, self.precision.get(name))

    @property
    def passed(self) -> bool:
        """No layer failed, and every model output within the tolerance end to end or given
        by a layer that passed (on Keras' own inputs: app.check.rejudge says why that is
        enough); an output no compared layer gives (a Keras operation's) is held to the
        tolerance end to end."""
        passed = {layer.name for layer in self.layers if layer.verdict == "passed"}
        return self.first_divergence is None and all(
            o.max_rel_error <= self.held_to(o.name) or o.name in passed for o in self.outputs
        )


def compare(
    model: ComparedModel,
    ours: Side,
    keras: Side,
    tolerance: float,
    done: Mapping[str, CheckLayer] | None = None,
) -> Comparison:
    """Every layer of `model` and every model output; the layers in `done` are compared
    already (app.check.arrivals: as both sides wrote them) and their files may be gone."""
    done = done or {}
    layers = [
        done[name]
        if name in done
        else compare_layer(
            name,
            class_name,
            ours.layers.get(name),
            keras.layers.get(name),
            tolerance,
            model.precision.get(name),
        )
        for name, class_name in model.layers
    ]
    first = next((layer.name for layer in layers if layer.verdict == "failed"), None)
    outputs = [
        _compare_output(name, a, b)
        for name, a, b in zip(model.outputs, ours.outputs, keras.outputs, strict=True)
    ]
    return Comparison(layers, outputs, first, tolerance, model.precision)


def errors(ours: np.ndarray, keras: np.ndarray) -> tuple[float, float]:
    """(max_abs_error, max_rel_error) of two arrays of one shape.

    Read CHUNK values at a time (memory-mapped outputs are never held whole, and the float64
    temporaries stay in the CPU's cache: 6x faster than whole-array passes on MobileNetV2's
    outputs)."""
    a, b = np.asarray(ours).reshape(-1), np.asarray(keras).reshape(-1)
    abs_error, largest = 0.0, 0.0
    for start in range(0, a.size, CHUNK):
        worst, big = _chunk_errors(a[start : start + CHUNK], b[start : start + CHUNK])
        abs_error, largest = max(abs_error, worst), max(largest, big)
        _release(a, start, start + CHUNK)
        _release(b, start, start + CHUNK)
    return abs_error, abs_error / max(largest, SCALE_FLOOR)


def _release(flat: np.ndarray, start: int, stop: int) -> None:
    """Values [start, stop) of a flat array over a memory-mapped file are read: their pages
    leave this process's resident set (the kernel keeps them in its page cache, and a later
    read maps them again). Else a layer's two files, read once, stayed resident until the
    layer was done: VGG16's first (25.7 MB a side at batch 2) grew the serving process by
    51.8 MB while checking it."""
    mapped = _map_of(flat)
    if mapped is None:
        return
    origin = np.frombuffer(mapped, dtype=np.uint8, count=1).ctypes.data
    begin = flat.ctypes.data - origin + start * flat.itemsize
    end = flat.ctypes.data - origin + min(stop, flat.size) * flat.itemsize
    page_start = begin - begin % mmap.PAGESIZE  # a page shared with the next chunk: re-read
    mapped.madvise(mmap.MADV_DONTNEED, page_start, end - page_start)


def _map_of(array: np.ndarray) -> mmap.mmap | None:
    """The read-only memory map a C-contiguous array views (app.check.keras.jobs maps each
    output file so), or None."""
    if not array.flags.c_contiguous:
        return None
    base = array.base
    while isinstance(base, np.ndarray | memoryview):
        base = base.obj if isinstance(base, memoryview) else base.base
    return base if isinstance(base, mmap.mmap) else None


def _chunk_errors(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(max |a − b| in float64, max |b| over b's finite values) of one chunk: two passes when
    every value is finite (max|b| is exact in b's own dtype), the careful way otherwise."""
    diff = np.subtract(a, b, dtype=np.float64)
    np.abs(diff, out=diff)
    worst, largest = diff.max(), np.abs(b).max()
    if np.isfinite(worst) and np.isfinite(largest):
        return float(worst), float(largest)
    return _nonfinite_chunk_errors(a, b)


def _nonfinite_chunk_errors(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """NaN on both sides agrees; NaN on one side only, or inf against another value, is an
    infinite error."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    both_nan = np.isnan(a) & np.isnan(b)
    diff = np.where(both_nan, 0.0, np.abs(a - b))
    diff = np.where(np.isnan(diff), np.inf, diff)
    finite = np.abs(b[np.isfinite(b)])
    return float(diff.max()), float(finite.max()) if finite.size else 0.0


def compare_layer(
    name: str,
    class_name: str,
    mine: Sequence[np.ndarray] | None,
    theirs: Sequence[np.ndarray] | None,
    tolerance: float,
    precision: str | None = None,
) -> CheckLayer:
    """One layer: every call's tensors, ours against Keras'; `precision`, the half-precision
    dtype the layer computes in, if any (`ComparedModel.precision`)."""
    shapes = [list(t.shape) for t in (theirs or mine or [])]
    if mine is None or theirs is None:
        side = "Keras" if theirs is None else "the reference forward"
        return _not_compared(name, class_name, shapes, f"{side} gave no output for this layer.")
    if [t.shape for t in mine] != [t.shape for t in theirs]:
        return _shape_mismatch(name, class_name, mine, theirs)
    abs_error, rel_error = _worst(mine, theirs)
    limit = held_to(tolerance, precision)
    passed = rel_error <= limit
    return CheckLayer(
        name=name,
        class_name=class_name,
        output_shape=shapes,
        max_abs_error=abs_error,
        max_rel_error=rel_error,
        verdict="passed" if passed else "failed",
        # A failed layer carries no note: it is judged again (app.check.rejudge), which says
        # what it found, against the same limit.
        note=half_precision_note(precision, limit, tolerance) if precision and passed else None,
    )


def half_precision_note(precision: str, limit: float, tolerance: float) -> str:
    return (
        f"Computes in {precision} (its dtype policy), whose values keep "
        f"{SIGNIFICANT_BITS[precision]} significant "
        f"bits: held to {limit:.2e} of its output's scale, four steps of {precision}'s "
        f"rounding, where a float32 layer is held to {tolerance:g}."
    )


def _worst(mine: Sequence[np.ndarray], theirs: Sequence[np.ndarray]) -> tuple[float, float]:
    pairs = [errors(a, b) for a, b in zip(mine, theirs, strict=True)]
    return max((p[0] for p in pairs), default=0.0), max((p[1] for p in pairs), default=0.0)


def _not_compared(name: str, class_name: str, shapes: list, note: str) -> CheckLayer:
    return CheckLayer(
        name=name,
        class_name=class_name,
        output_shape=shapes,
        max_abs_error=None,
        max_rel_error=None,
        verdict="not_compared",
        note=note,
    )


def _shape_mismatch(name: str, class_name: str, mine: list, theirs: list) -> CheckLayer:
    return CheckLayer(
        name=name,
        class_name=class_name,
        output_shape=[list(t.shape) for t in theirs],
        max_abs_error=None,
        max_rel_error=None,
        verdict="failed",
        note=(
            f"Output shapes differ: ours {[list(t.shape) for t in mine]}, Keras "
            f"{[list(t.shape) for t in theirs]}."
        ),
    )


def _compare_output(name: str, ours: np.ndarray, keras: np.ndarray) -> CheckOutput:
    if ours.shape != keras.shape:
        abs_error = rel_error = float("inf")
    else:
        abs_error, rel_error = errors(ours, keras)
    small = keras.size <= LISTED_VALUES
    return CheckOutput(
        name=name,
        shape=list(keras.shape),
        max_abs_error=abs_error,
        max_rel_error=rel_error,
        reference=plain(ours) if small else None,
        keras=plain(keras) if small else None,
    )


def plain(array: np.ndarray) -> list:
    """Nested lists for JSON; NaN and ±inf become None (JSON has no such numbers)."""
    array = np.asarray(array)
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        return np.where(np.isfinite(array), array, None).tolist()
    return array.tolist()
