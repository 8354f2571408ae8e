"""Core layers: Dense, EinsumDense, Embedding, Masking, Identity.

Lambda is deliberately absent: its config carries Python code, so it is never registered and
never handed to Keras.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.graph import Shape
from app.layers.fields import OUTPUT_SHAPE
from app.layers.registry import Config, Traits, WeightSpec, register, same_shape, single


def dense_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """kernel (input_dim, units), then bias (units,) when use_bias."""
    units = int(config["units"])
    weights = [WeightSpec("kernel", "kernel", (single(input_shapes)[-1], units))]
    if config.get("use_bias", True):
        weights.append(WeightSpec("bias", "bias", (units,)))
    return weights


@register(
    "Dense",
    family="core",
    summary="output = activation(inputs · kernel + bias), over the last axis.",
    weights=dense_weights,
    traits=Traits(passes_mask=True),
)
def dense_output(config: Config, input_shapes: list) -> tuple:
    return (*single(input_shapes)[:-1], int(config["units"]))


# EinsumDense -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EinsumShapes:
    """What keras' `_analyze_einsum_string` works out: kernel, bias (or None), full output."""

    kernel: tuple
    bias: tuple | None
    output: Shape


_EQUATION_FORMS = (  # (pattern on the equation with `...` replaced by `0`, left_elided)
    ("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", False),
    ("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", True),
    ("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", False),
)


def analyze_einsum(
    equation: str, bias_axes: str | None, input_shape: Shape, partial
) -> EinsumShapes:
    """Kernel, bias and output shapes of `EinsumDense(equation, partial, bias_axes)`.

    Mirrors keras/src/layers/core/einsum_dense.py `_analyze_einsum_string` step by step:
    the equation is `[X],[Y]->[Z]`, `...[X],[Y]->...[Z]` or `[X]...,[Y]->[Z]...`.
    """
    replaced = re.sub(r"\.\.\.", "0", equation)
    for pattern, left_elided in _EQUATION_FORMS:
        match = re.match(pattern, replaced)
        if match:
            return _analyze_split(match.groups(), bias_axes, input_shape, partial, left_elided)
    raise ValueError(f"invalid einsum equation {equation!r}")


def _analyze_split(groups, bias_axes, input_shape, partial, left_elided: bool) -> EinsumShapes:
    input_spec, weight_spec, output_spec = groups
    elided = len(input_shape) - len(input_spec)
    output = _full_output_shape(input_shape, partial, elided, left_elided)
    if left_elided:
        input_map = {d: i + elided - len(input_shape) for i, d in enumerate(input_spec)}
        output_map = {d: i + elided for i, d in enumerate(output_spec)}
    else:
        input_map = {d: i for i, d in enumerate(input_spec)}
        output_map = {d: i for i, d in enumerate(output_spec)}
    _check_einsum_dims(
        input_spec, output_spec, weight_spec, input_shape, output, input_map, output_map
    )
    kernel = []
    for dim in weight_spec:
        if dim in output_map:
            kernel.append(output[output_map[dim]])
        elif dim in input_map:
            kernel.append(input_shape[input_map[dim]])
        else:
            raise ValueError(f"weight dimension {dim!r} is in neither the input nor the output")
    bias = None
    if bias_axes is not None:
        bias = _einsum_bias(bias_axes, output_spec, output, elided, left_elided)
    return EinsumShapes(tuple(kernel), bias, tuple(output))


def _full_output_shape(input_shape, partial, elided: int, left_elided: bool) -> list:
    output = [partial] if isinstance(partial, int) else list(partial)
    output.insert(0, input_shape[0])
    if elided > 0 and left_elided:
        for i in range(1, elided):
            output.insert(1, input_shape[i])
    elif elided > 0:
        output.extend(input_shape[len(input_shape) - elided :])
    return output


def _check_einsum_dims(input_spec, output_spec, weight_spec, input_shape, output, imap, omap):
    for dim in input_spec:
        if dim in omap:
            expected = output[omap[dim]]
            if expected is not None and expected != input_shape[imap[dim]]:
                raise ValueError(f"input and output shapes differ at shared dimension {dim!r}")
    for dim in output_spec:
        if dim not in input_spec and dim not in weight_spec:
            raise ValueError(f"output dimension {dim!r} is in neither the input nor the weight")


def _einsum_bias(bias_axes: str, output_spec: str, output: list, elided: int, left: bool) -> tuple:
    offset = elided if left else 0
    sizes = {char: output[i + offset] for i, char in enumerate(output_spec)}
    for char in bias_axes:
        if char not in output_spec:
            raise ValueError(f"bias axis {char!r} is not in the output spec {output_spec!r}")
    first = min(output_spec.find(char) for char in bias_axes)
    bias = [sizes[char] if char in bias_axes else 1 for char in output_spec[first:]]
    if not left:
        bias.extend([1] * max(elided, 0))
    return tuple(bias)


def _einsum_config_shapes(config: Config, input_shapes: list) -> EinsumShapes:
    return analyze_einsum(
        config["equation"], config.get("bias_axes"), single(input_shapes), config["output_shape"]
    )


def einsum_dense_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """kernel with the shape of the equation's weight term (e.g. `abc,cd->abd`: (c, d)), then
    bias over `bias_axes` broadcast from the first bias axis to the end of the output
    (e.g. bias_axes `d`: (d,)); no bias when bias_axes is None."""
    return einsum_specs(_einsum_config_shapes(config, input_shapes))


def einsum_specs(shapes: EinsumShapes) -> list[WeightSpec]:
    """kernel, then bias when there is one; like Keras, refuses a dimension left unknown."""
    weights = [WeightSpec("kernel", "kernel", shapes.kernel)]
    if shapes.bias is not None:
        weights.append(WeightSpec("bias", "bias", shapes.bias))
    for spec in weights:
        if None in spec.shape:
            raise ValueError(f"EinsumDense {spec.name} shape {spec.shape} is not fully defined")
    return weights


@register(
    "EinsumDense",
    family="core",
    fields={"output_shape": OUTPUT_SHAPE},
    summary="output = activation(einsum(equation, inputs, kernel) + bias), bias over bias_axes.",
    weights=einsum_dense_weights,
)
def einsum_dense_output(config: Config, input_shapes: list) -> tuple:
    return _einsum_config_shapes(config, input_shapes).output


# Embedding, Masking, Identity --------------------------------------------------------------


def embedding_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """embeddings (input_dim, output_dim): one row per token id."""
    shape = (int(config["input_dim"]), int(config["output_dim"]))
    return [WeightSpec("embeddings", "embeddings", shape)]


@register(
    "Embedding",
    family="core",
    summary="output[..., :] = embeddings[inputs[...]]: each integer id becomes its row.",
    weights=embedding_weights,
)
def embedding_output(config: Config, input_shapes: list) -> tuple:
    shape = single(input_shapes)
    return (shape[0], *_with_input_length(config, shape[1:]), int(config["output_dim"]))


def _with_input_length(config: Config, steps: tuple) -> tuple:
    """Keras 2's `input_length` fills the unknown sequence dimensions (Keras 3 ignores it)."""
    length = config.get("input_length")
    if length is None:
        return steps
    lengths = list(length) if isinstance(length, list | tuple) else [length]
    if len(lengths) != len(steps):
        return steps
    return tuple(s if s is not None else n for s, n in zip(steps, lengths, strict=True))


register(
    "Masking",
    family="core",
    summary="output = inputs; timesteps where every feature equals mask_value are masked out.",
)(same_shape)


@register(
    "Identity",
    family="core",
    summary="output = inputs, unchanged.",
    traits=Traits(passes_mask=True),
)
def identity_output(config: Config, input_shapes: list):
    if len(input_shapes) == 1:
        return single(input_shapes)
    return [tuple(s) if isinstance(s, tuple) else s for s in input_shapes]
