"""Merging layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot, and
Inception-ResNet-v2's CustomScaleLayer. None of them has weights.

The element-wise merges broadcast as keras' `Merge` does: the shapes without their batch axis
are aligned on the right, a 1 takes the other size, an unknown size stays unknown. Keras 3
configs also hold tensor arithmetic (`x + 3.0`, `a * b`) as operations of the same class names
(`Add`, `Multiply`, module `keras.src.ops.numpy`) whose constant operand is not a tensor: with
one input shape the merge returns it unchanged, which is also what such an operation gives.
Where an operation of the same name means something else (`ops.average(x, axis)` reduces,
`ops.dot` is NumPy's dot), its config gives it away and the shape is refused, not guessed.
"""

from __future__ import annotations

from app.graph import Shape
from app.layers.fields import NUMBER
from app.layers.registry import LAYERS_MODULE, Config, register

FAMILY = "merging"
# Keras also writes these class names, under this module, for the operation of the same name
# that a Functional config records for tensor arithmetic (`x + y` on Keras tensors).
ALSO_OPERATIONS = (LAYERS_MODULE, "keras.src.ops.numpy")


def _shapes(input_shapes: list) -> list[Shape]:
    """The merged tensors' shapes: the inputs may come as one list of shapes."""
    shapes = input_shapes
    if len(shapes) == 1 and isinstance(shapes[0], list):
        shapes = shapes[0]
    if not shapes or not all(isinstance(s, tuple | list) for s in shapes):
        raise ValueError("a merge layer needs a list of input tensors")
    return [tuple(s) for s in shapes]


def elementwise_broadcast(shape1: Shape, shape2: Shape) -> Shape:
    """keras' `Merge._compute_elemwise_op_output_shape` (shapes without the batch axis)."""
    if len(shape1) < len(shape2):
        shape1, shape2 = shape2, shape1
    if not shape2:
        return shape1
    output = list(shape1[: len(shape1) - len(shape2)])
    for i, j in zip(shape1[len(shape1) - len(shape2) :], shape2, strict=True):
        if i is None or j is None:
            output.append(None)
        elif i == 1:
            output.append(j)
        elif j == 1 or i == j:
            output.append(i)
        else:
            raise ValueError(f"inputs have incompatible shapes {shape1} and {shape2}")
    return tuple(output)


def merge_output(config: Config, input_shapes: list) -> Shape:
    """Batch size (the one known size, else None), then the broadcast of the other axes."""
    shapes = _shapes(input_shapes)
    output = shapes[0][1:]
    for shape in shapes[1:]:
        output = elementwise_broadcast(output, shape[1:])
    batches = {s[0] for s in shapes if s} - {None}
    if len(batches) > 1:
        raise ValueError(f"cannot merge tensors with different batch sizes: {shapes}")
    return (batches.pop() if batches else None, *output)


ELEMENTWISE = {
    "Add": "output = inputs[0] + inputs[1] + …, element-wise with broadcasting.",
    "Multiply": "output = inputs[0] · inputs[1] · …, element-wise with broadcasting.",
    "Maximum": "output = max(inputs[0], inputs[1], …), element-wise.",
    "Minimum": "output = min(inputs[0], inputs[1], …), element-wise.",
}

for _name, _summary in ELEMENTWISE.items():
    register(_name, family=FAMILY, summary=_summary, modules=ALSO_OPERATIONS)(merge_output)


@register(
    "Average",
    family=FAMILY,
    summary="output = (inputs[0] + … + inputs[n−1]) / n, element-wise.",
    modules=ALSO_OPERATIONS,
)
def average_output(config: Config, input_shapes: list) -> Shape:
    """Refuses `ops.average(x, axis)`, an operation of the same class name that reduces."""
    if config.get("axis") is not None:
        raise ValueError("an Average with `axis` is the ops.average reduction, not the layer")
    return merge_output(config, input_shapes)


@register(
    "Subtract",
    family=FAMILY,
    summary="output = inputs[0] − inputs[1], element-wise.",
    modules=ALSO_OPERATIONS,
)
def subtract_output(config: Config, input_shapes: list) -> Shape:
    if len(_shapes(input_shapes)) > 2:
        raise ValueError("Subtract takes exactly 2 inputs")
    return merge_output(config, input_shapes)


@register(
    "Concatenate",
    family=FAMILY,
    summary="output = the inputs joined along `axis` (its size is the sum of theirs).",
    modules=ALSO_OPERATIONS,
)
def concatenate_output(config: Config, input_shapes: list) -> Shape:
    """keras' `Concatenate.compute_output_shape`: the first input's shape, `axis` summed
    (unknown as soon as one input's size there is)."""
    shapes = _shapes(input_shapes)
    if len({len(s) for s in shapes}) != 1:
        raise ValueError(f"Concatenate needs inputs of one rank: {shapes}")
    axis = int(config.get("axis", -1))
    output = list(shapes[0])
    for shape in shapes[1:]:
        if output[axis] is None or shape[axis] is None:
            output[axis] = None
            break
        output[axis] += shape[axis]
    return tuple(output)


def dot_axes(config: Config, shape1: Shape, shape2: Shape) -> tuple[int, int]:
    """`axes` as one axis per input; a negative int counts from each input's own end."""
    axes = config.get("axes", -1)
    if isinstance(axes, int):
        return (axes % len(shape1), axes % len(shape2)) if axes < 0 else (axes, axes)
    if len(axes) != 2:
        raise ValueError(f"Dot axes must be an int or two ints: {axes}")
    return int(axes[0]) % len(shape1), int(axes[1]) % len(shape2)


@register(
    "Dot",
    family=FAMILY,
    summary=(
        "output[b] = Σ_k inputs[0][b, …, k, …] · inputs[1][b, …, k, …] over `axes` (with "
        "normalize, each input is L2-normalized along its axis first: cosine proximity)."
    ),
    modules=ALSO_OPERATIONS,
)
def dot_output(config: Config, input_shapes: list) -> Shape:
    """keras' `Dot.compute_output_shape`: both shapes without the summed axes, the second
    without its batch axis too; a lone batch axis gets a trailing 1."""
    shapes = _shapes(input_shapes)
    if len(shapes) != 2:
        raise ValueError("Dot takes exactly 2 inputs")
    if "axes" not in config:  # the Dot layer always has `axes`; `ops.dot` has none
        raise ValueError("a Dot without `axes` is the ops.dot operation, not the layer")
    shape1, shape2 = list(shapes[0]), list(shapes[1])
    axis1, axis2 = dot_axes(config, shapes[0], shapes[1])
    if None not in (shape1[axis1], shape2[axis2]) and shape1[axis1] != shape2[axis2]:
        raise ValueError(f"Dot axes have different sizes: {shapes[0]}, {shapes[1]}")
    shape1.pop(axis1)
    shape2.pop(axis2)
    output = shape1 + shape2[1:]
    return tuple(output + [1] if len(output) == 1 else output)


# From keras.applications ------------------------------------------------------------------


def broadcast_shapes(shape1: Shape, shape2: Shape) -> Shape:
    """keras' `ops.operation_utils.broadcast_shapes`: full shapes, batch axis included."""
    rank = max(len(shape1), len(shape2))
    shape1 = (1,) * (rank - len(shape1)) + tuple(shape1)
    shape2 = (1,) * (rank - len(shape2)) + tuple(shape2)
    output = []
    for i, j in zip(shape1, shape2, strict=True):
        if i == 1:
            output.append(j)
        elif i is None:
            output.append(None if j == 1 else j)
        elif j in (1, None, i):
            output.append(i)
        else:
            raise ValueError(f"cannot broadcast {shape1} with {shape2}")
    return tuple(output)


@register(
    "CustomScaleLayer",
    family=FAMILY,
    fields={"scale": NUMBER},
    summary="output = inputs[0] + inputs[1] · scale (Inception-ResNet-v2's residual scaling).",
    modules=("keras.src.applications.inception_resnet_v2",),  # not in keras.layers
)
def custom_scale_output(config: Config, input_shapes: list) -> Shape:
    shapes = _shapes(input_shapes)
    if len(shapes) != 2:
        raise ValueError("CustomScaleLayer takes exactly 2 inputs")
    return broadcast_shapes(shapes[0], shapes[1])
