"""Attention layers: MultiHeadAttention, GroupedQueryAttention, Attention, AdditiveAttention.

`input_shapes` are the call's tensors in order: MultiHeadAttention and GroupedQueryAttention
take (query, value[, key]); Attention and AdditiveAttention take the list [query, value[, key]].
Keras 2 wrote a call `mha(x, x)` with `value` as a keyword that older configs do not list as
an input: one shape alone is then taken as self-attention (value = query).

The projections are EinsumDense sublayers named `query`, `key`, `value`, `attention_output`
(`gate` when use_gate). MultiHeadAttention exposes them as the properties `query_dense`,
`key_dense`, `value_dense`, `output_dense`, and `.keras` files store them under those names
(the walk visits public attributes first); the gate, and every GroupedQueryAttention
projection, only under the private `_gate_dense`, `_query_dense`, ...
"""

from __future__ import annotations

import string

from app.graph import Shape
from app.layers.core import analyze_einsum, einsum_specs
from app.layers.fields import OUTPUT_SHAPE, optional
from app.layers.recurrent import nest
from app.layers.registry import UNUSED_BY_KERAS2, Config, Traits, WeightSpec, register

# The output carries the query's mask (Attention's compute_mask returns mask[0];
# MultiHeadAttention keeps the default on its first argument, the query). The multi-head
# layers read their masks from their tensors: a tensor by keyword is an explicit
# `attention_mask` (or a query/value/key mask), which the reference does not take.
# tf.keras ≥ 2.10 wrote the shapes the layer was built with; Keras 3 builds it from the call.
# tf_keras 2.21 writes `softmax_robust_masking`: False is the masked softmax Keras 3 computes.
MULTI_HEAD = Traits(
    passes_mask=True,
    tensor_masks_only=True,
    keras2_defaults={
        **dict.fromkeys(("query_shape", "key_shape", "value_shape"), UNUSED_BY_KERAS2),
        "softmax_robust_masking": False,
    },
)


def query_value_key(input_shapes: list) -> tuple[Shape, Shape, Shape]:
    """(query, value, key) shapes; key defaults to value, value to query."""
    shapes = [tuple(s) for s in _flat(input_shapes)]
    query = shapes[0]
    value = shapes[1] if len(shapes) > 1 else query
    key = shapes[2] if len(shapes) > 2 else value
    if tuple(value[1:-1]) != tuple(key[1:-1]):
        raise ValueError("value and key must agree on every dimension but the last")
    return query, value, key


def _flat(shapes: list) -> list:
    out = []
    for shape in shapes:
        out += _flat(shape) if isinstance(shape, list) else [shape]
    return out


def projection(
    equation: str, bias_axes: str | None, partial: list, input_shape: Shape, name: str, owner: str
) -> list[WeightSpec]:
    """One EinsumDense sublayer's kernel (and bias), named `<name>/...`, owned by `owner`."""
    specs = einsum_specs(analyze_einsum(equation, bias_axes, input_shape, partial))
    return nest(specs, name, owner)


# MultiHeadAttention ------------------------------------------------------------------------


def proj_equation(free_dims: int, bound_dims: int, output_dims: int) -> tuple[str, str, int]:
    """keras' `_build_proj_equation`: e.g. (2, 1, 2) -> `abc,cde->abde`, bias_axes `de`."""
    letters = string.ascii_lowercase
    free = letters[:free_dims]
    bound = letters[free_dims : free_dims + bound_dims]
    out = letters[free_dims + bound_dims : free_dims + bound_dims + output_dims]
    return f"{free}{bound},{bound}{out}->{free}{out}", out, free_dims + output_dims


def _partial(rank: int, known_last: list) -> list:
    return [None] * (rank - len(known_last)) + list(known_last)


def _mha_output_dims(config: Config, query: Shape) -> tuple:
    output_shape = config.get("output_shape")
    if not output_shape:
        return (query[-1],)
    return (int(output_shape),) if isinstance(output_shape, int) else tuple(output_shape)


def _mha_heads_projection(config, shape, last, name, owner) -> list[WeightSpec]:
    equation, bias_axes, rank = proj_equation(len(shape) - 1, 1, 2)
    use_bias = config.get("use_bias", True)
    partial = _partial(rank - 1, [int(config["num_heads"]), last])
    return projection(equation, bias_axes if use_bias else None, partial, shape, name, owner)


def mha_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """query/kernel (query_dim, num_heads, key_dim), key/kernel (key_dim_in, num_heads,
    key_dim), [gate/kernel (query_dim, num_heads, value_dim)], value/kernel (value_dim_in,
    num_heads, value_dim), attention_output/kernel (num_heads, value_dim, *output_shape);
    with use_bias each is followed by a bias over its output axes ((num_heads, key_dim), ...,
    output_shape). Extra attention_axes add dimensions only to the inputs, not to weights."""
    query, value, key = query_value_key(input_shapes)
    key_dim = int(config["key_dim"])
    value_dim = int(config.get("value_dim") or key_dim)
    specs = _mha_heads_projection(config, query, key_dim, "query", "query_dense")
    specs += _mha_heads_projection(config, key, key_dim, "key", "key_dense")
    if config.get("use_gate", False):
        specs += _mha_heads_projection(config, query, value_dim, "gate", "_gate_dense")
    specs += _mha_heads_projection(config, value, value_dim, "value", "value_dense")
    return specs + _mha_output_projection(config, query, value_dim)


def _mha_output_projection(config: Config, query: Shape, value_dim: int) -> list[WeightSpec]:
    output_dims = _mha_output_dims(config, query)
    equation, bias_axes, rank = proj_equation(len(query) - 1, 2, len(output_dims))
    bias = bias_axes if config.get("use_bias", True) else None
    projected = (*query[:-1], int(config["num_heads"]), value_dim)
    partial = _partial(rank - 1, list(output_dims))
    return projection(equation, bias, partial, projected, "attention_output", "output_dense")


@register(
    "MultiHeadAttention",
    family="attention",
    fields={"output_shape": optional(OUTPUT_SHAPE)},
    summary=(
        "Per head: softmax(Q·Kᵀ/√key_dim)·V with Q, K, V the query, key and value "
        "projections; the heads are concatenated and projected by attention_output."
    ),
    weights=mha_weights,
    traits=MULTI_HEAD,
)
def mha_output(config: Config, input_shapes: list) -> tuple:
    query, _, _ = query_value_key(input_shapes)
    return (*query[:-1], *_mha_output_dims(config, query))


# GroupedQueryAttention ---------------------------------------------------------------------


def gqa_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """query/kernel (dim, num_query_heads, head_dim), key/kernel and value/kernel
    (dim, num_key_value_heads, head_dim), [gate/kernel like query], attention_output/kernel
    (num_query_heads, head_dim, dim); with use_bias each has a bias over its output axes."""
    query, value, key = query_value_key(input_shapes)
    head_dim, heads = int(config["head_dim"]), int(config["num_query_heads"])
    kv_heads = int(config["num_key_value_heads"])
    use_bias = config.get("use_bias", True)
    names = (
        ["query", "key", "gate", "value"] if config.get("use_gate") else ["query", "key", "value"]
    )
    inputs = {"query": query, "key": key, "gate": query, "value": value}
    specs = []
    for name in names:
        equation, bias_axes, n = _GQA_PROJECTIONS["key" if name == "value" else name]
        partial = [None, heads if n == "q" else kv_heads, head_dim]
        bias = bias_axes if use_bias else None
        specs += projection(equation, bias, partial, inputs[name], name, f"_{name}_dense")
    out_in = (None, None, heads, head_dim)
    bias = "m" if use_bias else None
    return specs + projection(
        "bquh,uhm->bqm", bias, [None, query[-1]], out_in, "attention_output", "_output_dense"
    )


_GQA_PROJECTIONS = {  # name -> (equation, bias_axes, heads: q for query heads, kv otherwise)
    "query": ("bqm,muh->bquh", "uh", "q"),
    "gate": ("bqm,muh->bquh", "uh", "q"),
    "key": ("bkm,mvh->bkvh", "vh", "kv"),
}


@register(
    "GroupedQueryAttention",
    family="attention",
    summary=(
        "Multi-head attention where num_query_heads query heads share num_key_value_heads key "
        "and value heads: softmax(Q·Kᵀ/√head_dim)·V per head, then attention_output."
    ),
    weights=gqa_weights,
    traits=MULTI_HEAD,
    aliases=("GroupQueryAttention",),
)
def gqa_output(config: Config, input_shapes: list) -> tuple:
    query, value, _ = query_value_key(input_shapes)
    if query[-1] != value[-1]:
        raise ValueError("query and value must have the same last dimension")
    return query


# Attention, AdditiveAttention --------------------------------------------------------------


def attention_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """scale () when use_scale, then concat_score_weight () when score_mode is concat."""
    specs = []
    if config.get("use_scale", False):
        specs.append(WeightSpec("scale", "scale", ()))
    if config.get("score_mode", "dot") == "concat":
        specs.append(WeightSpec("concat_score_weight", "concat_score_weight", ()))
    return specs


def attention_output(config: Config, input_shapes: list) -> tuple:
    query, value, _ = query_value_key(input_shapes)
    return (*query[:-1], value[-1])


# tf.keras 2.x took `causal` in the constructor; Keras 3 takes `use_causal_mask` per call.
KERAS2_ATTENTION = Traits(passes_mask=True, keras2_defaults={"causal": False})


register(
    "Attention",
    family="attention",
    summary=(
        "output = softmax(scores)·value, scores = scale·query·keyᵀ (dot) or "
        "concat_score_weight·Σ tanh(scale·(query + key)) (concat)."
    ),
    weights=attention_weights,
    traits=KERAS2_ATTENTION,
)(attention_output)


def additive_attention_weights(config: Config, input_shapes: list) -> list[WeightSpec]:
    """scale (dim,), the query's last dimension, when use_scale (the default)."""
    if not config.get("use_scale", True):
        return []
    query, _, _ = query_value_key(input_shapes)
    return [WeightSpec("scale", "scale", (int(query[-1]),))]


register(
    "AdditiveAttention",
    family="attention",
    summary="output = softmax(scores)·value, scores = Σ scale·tanh(query + key) (Bahdanau).",
    weights=additive_attention_weights,
    traits=KERAS2_ATTENTION,
)(attention_output)
