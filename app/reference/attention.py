"""Attention: MultiHeadAttention, GroupedQueryAttention, Attention, AdditiveAttention.

Inputs are `[query, value]` or `[query, value, key]` (key defaults to value), batch first.

The multi-head layers project with EinsumDense sublayers whose weights are keyed by their
path inside the layer, as the registry names them: `query/kernel`, `query/bias`, `key/...`,
`value/...`, `gate/...` (use_gate), `attention_output/...`. Their role alone (`kernel`) is
ambiguous there, so the caller must give these names.

Call arguments that Keras keeps with the node rather than in the config —
`use_causal_mask` and `return_attention_scores` — are read from `config`: the caller merges
the node's call kwargs into it (`{**config, **call_kwargs}`).

The inputs' own masks (after an Embedding with `mask_zero=True`, say) reach the multi-head
layers: as Keras does, the query's (B, T) and the value's and key's (B, S) are joined into a
(B, T, S) mask, with the causal and sliding-window masks; masked scores get −1e9 before the
softmax. Attention and AdditiveAttention take the value's mask into the scores and zero the
output rows of masked queries. Not covered: an explicit `attention_mask` call argument.

Dropout on the attention probabilities is off at inference; in training mode Keras' dropout
is random, so the reference computes the inference result there too.
"""

from __future__ import annotations

import math

import numpy as np

from app.errors import UnsupportedModel
from app.reference.activations import sigmoid
from app.reference.forwards import Config, Mask, Weights, forward, optional_weight, scalar, weight

MASKED = -1e9  # what Keras puts in place of (MultiHeadAttention) or adds to masked scores


def query_value_key(inputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(query, value, key) from the layer's inputs; key defaults to value."""
    if not 2 <= len(inputs) <= 3:
        raise ValueError(
            f"attention takes [query, value] or [query, value, key], got {len(inputs)}"
        )
    query, value = inputs[0], inputs[1]
    return query, value, inputs[2] if len(inputs) == 3 else value


def masked_softmax(
    scores: np.ndarray, mask: np.ndarray | None, zero_masked: bool = True
) -> np.ndarray:
    """Keras' Softmax layer with a mask: softmax(where(mask, s, −1e9)), then 0 where masked.

    The softmax runs over the last axis of `scores` (…, Tq, Tk); `mask` broadcasts to it.
    `zero_masked=False` leaves out the last step, as `ops.dot_product_attention` does: a row
    with every position masked then attends to all of them equally.
    """
    if mask is not None:
        scores = np.where(mask, scores, scalar(MASKED, scores))
    shifted = np.exp(scores - np.max(scores, axis=-1, keepdims=True))
    probs = shifted / np.sum(shifted, axis=-1, keepdims=True)
    return probs if mask is None or not zero_masked else np.where(mask, probs, scalar(0.0, probs))


def causal_mask(query_length: int, key_length: int) -> np.ndarray:
    """mask[t, s] = s ≤ t: query position t attends to key positions up to itself. (Tq, Tk)"""
    return np.arange(key_length)[None, :] <= np.arange(query_length)[:, None]


def sliding_window_mask(query_length: int, key_length: int, window: int) -> np.ndarray:
    """mask[t, s] = |t − s| < window (Keras' symmetric band). (Tq, Tk)"""
    distance = np.arange(query_length)[:, None] - np.arange(key_length)[None, :]
    return np.abs(distance) < window


def sequence_mask(config: Config, query_length: int, key_length: int) -> np.ndarray | None:
    """The (Tq, Tk) mask from `use_causal_mask` (call argument) and `sliding_window`, or None."""
    mask = None
    if config.get("use_causal_mask", False):
        mask = causal_mask(query_length, key_length)
    window = config.get("sliding_window")
    if window is not None:
        band = sliding_window_mask(query_length, key_length, int(window))
        mask = band if mask is None else mask & band
    return mask


# Projections ------------------------------------------------------------------------------


def project(x: np.ndarray, weights: Weights, name: str, contracted: int = 1) -> np.ndarray:
    """EinsumDense sublayer `name`: x contracted with `name/kernel` over its last axes, + bias.

    x (…, *D) with `contracted` trailing axes D; kernel (*D, *E); bias E (if present);
    output (…, *E).
    """
    kernel = weight(weights, f"{name}/kernel")
    axes = list(range(-contracted, 0))
    out = np.tensordot(x, kernel, axes=(axes, list(range(contracted))))
    bias = optional_weight(weights, f"{name}/bias")
    return out if bias is None else out + bias


def attention_output(config: Config, weights: Weights, query: np.ndarray, context: np.ndarray):
    """The gate (use_gate: context · sigmoid(gate(query))), then the `attention_output` projection.

    context (B, *T, N, H) → (B, *T, *output_shape).
    """
    if config.get("use_gate", False):
        context = context * sigmoid(project(query, weights, "gate"))
    return project(context, weights, "attention_output", contracted=2)


def with_scores(config: Config, output: np.ndarray, scores: np.ndarray):
    """`output`, or `[output, scores]` when the call asked for `return_attention_scores`."""
    return [output, scores] if config.get("return_attention_scores", False) else output


# MultiHeadAttention -----------------------------------------------------------------------


def attention_axes(config: Config, rank: int) -> tuple[int, ...]:
    """Keras' normalized `attention_axes` for projected tensors of `rank` (B, …, N, H).

    Default: every axis between the batch and the heads. A negative axis counts from the
    input's end: axis + rank − 1.
    """
    axes = config.get("attention_axes")
    if axes is None:
        return tuple(range(1, rank - 2))
    axes = (axes,) if isinstance(axes, int) else tuple(axes)
    return tuple(int(a) if a >= 0 else rank - 1 + int(a) for a in axes)


def batch_axes(rank: int, attn: tuple[int, ...]) -> list[int]:
    """The axes of a projected (B, …, N, H) tensor that attention does not mix: every axis
    but the attention axes and H (the batch and the heads among them), in order."""
    return [a for a in range(rank - 1) if a not in attn]


def to_heads_first(x: np.ndarray, attn: tuple[int, ...]) -> np.ndarray:
    """(B, …, N, H) → (P, T, H): the batch axes flattened into P, the attention axes into T."""
    moved = np.transpose(x, (*batch_axes(x.ndim, attn), *attn, x.ndim - 1))
    return moved.reshape(-1, math.prod(x.shape[a] for a in attn), x.shape[-1])


def from_heads_first(x: np.ndarray, layout: tuple[int, ...], attn: tuple[int, ...]) -> np.ndarray:
    """(P, Tq, Hv) → (B, …, N, Hv), the axes laid out as in the projected query `layout`."""
    batch = batch_axes(len(layout), attn)
    grouped = x.reshape(*(layout[a] for a in (*batch, *attn)), x.shape[-1])
    return np.transpose(grouped, np.argsort((*batch, *attn, len(layout) - 1)))


def _softmax_layer(config: Config, projected_query: np.ndarray) -> bool:
    """Whether Keras computes this attention with its Softmax layer (masked rows become 0)
    rather than `ops.dot_product_attention` (a fully masked row attends uniformly): with
    dropout, returned scores, or attention over more than one axis (not (B, T, N, H))."""
    return (
        float(config.get("dropout", 0.0) or 0.0) > 0.0
        or bool(config.get("return_attention_scores", False))
        or projected_query.ndim != 4
    )


def input_mask(masks: list[Mask] | None, inputs: int) -> np.ndarray | None:
    """Keras' `_compute_attention_mask` from the inputs' masks: query (B, T) → (B, T, 1),
    value and key (B, S) → (B, 1, S), joined by AND into (B, T, S); None without masks.
    `inputs` is 2 ([query, value]: no key mask) or 3."""
    found = list(masks or []) + [None] * 3
    parts = [
        None if found[0] is None else np.asarray(found[0], dtype=bool)[:, :, None],
        None if found[1] is None else np.asarray(found[1], dtype=bool)[:, None, :],
        None if inputs < 3 or found[2] is None else np.asarray(found[2], dtype=bool)[:, None, :],
    ]
    joined = None
    for part in (p for p in parts if p is not None):
        joined = part if joined is None else joined & part
    return joined


def dot_product_attention(
    query: np.ndarray,
    key: np.ndarray,
    value: np.ndarray,
    attn: tuple[int, ...],
    config: Config,
    batch_mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """softmax((query / √key_dim) · keyᵀ) · value over the attention axes, per head.

    query (B, *Tq, N, H), key (B, *Tk, N, H), value (B, *Tk, N, Hv) — `attn` names the T axes;
    `batch_mask` (B, Tq, Tk) comes from the inputs' masks (`input_mask`).
    Returns the context (B, *Tq, N, Hv) and the probabilities (B, …, N, *Tq, *Tk) in Keras'
    order: the batch axes (heads included), then the query's, then the key's attention axes.
    """
    q = to_heads_first(query * scalar(1.0 / math.sqrt(query.shape[-1]), query), attn)
    k, v = to_heads_first(key, attn), to_heads_first(value, attn)
    mask = sequence_mask(config, q.shape[1], k.shape[1])
    if (mask is not None or batch_mask is not None) and attn != (1,):
        raise UnsupportedModel(
            "A masked, causal or sliding-window MultiHeadAttention is reproduced only with "
            "attention over axis 1 (the sequence axis).",
            {"attention_axes": list(attn)},
        )
    if batch_mask is not None:  # (B, Tq, Tk) → (B·N, Tq, Tk), the heads-first batch order
        heads = query.shape[-2]
        per_head = np.repeat(batch_mask, heads, axis=0)
        mask = per_head if mask is None else per_head & mask
    probs = masked_softmax(q @ np.swapaxes(k, -1, -2), mask, _softmax_layer(config, query))
    context = from_heads_first(probs @ v, query.shape, attn)
    batch = batch_axes(query.ndim, attn)
    scores_shape = [query.shape[a] for a in (*batch, *attn)] + [key.shape[a] for a in attn]
    return context, probs.reshape(scores_shape)


@forward("MultiHeadAttention")
def multi_head_attention(
    config: Config, weights: Weights, inputs: list[np.ndarray], training, masks=None
):
    """MultiHeadAttention: attention_output(softmax(Q·Kᵀ/√key_dim)·V), per head.

    Q = query·Wq + bq (B, *T, N, key_dim), K = key·Wk + bk (B, *S, N, key_dim),
    V = value·Wv + bv (B, *S, N, value_dim); the softmax runs over the attention axes of
    the key (jointly when several); the heads' contexts (B, *T, N, value_dim) are
    projected by attention_output to (B, *T, *output_shape) (default: query's last dim).
    With `return_attention_scores`: [output, scores (B, N, T, S) for 3-D inputs].
    """
    query, value, key = query_value_key(inputs)
    q = project(query, weights, "query")
    k = project(key, weights, "key")
    v = project(value, weights, "value")
    attn, batch_mask = attention_axes(config, q.ndim), input_mask(masks, len(inputs))
    context, scores = dot_product_attention(q, k, v, attn, config, batch_mask)
    return with_scores(config, attention_output(config, weights, query, context), scores)


@forward("GroupedQueryAttention", "GroupQueryAttention")
def grouped_query_attention(
    config: Config, weights: Weights, inputs: list[np.ndarray], training, masks=None
):
    """GroupedQueryAttention: MultiHeadAttention where query head u uses key/value head
    u // (num_query_heads / num_key_value_heads).

    Q (B, T, num_query_heads, head_dim); K, V (B, S, num_key_value_heads, head_dim), each
    kv head repeated for its group of query heads; softmax(Q·Kᵀ/√head_dim)·V per query head;
    attention_output projects (B, T, num_query_heads, head_dim) back to (B, T, dim).
    With `return_attention_scores`: [output, scores (B, num_query_heads, T, S)].
    """
    query, value, key = query_value_key(inputs)
    q = project(query, weights, "query")
    repeats = int(config["num_query_heads"]) // int(config["num_key_value_heads"])
    k = np.repeat(project(key, weights, "key"), repeats, axis=2)
    v = np.repeat(project(value, weights, "value"), repeats, axis=2)
    context, scores = dot_product_attention(q, k, v, (1,), config, input_mask(masks, len(inputs)))
    return with_scores(config, attention_output(config, weights, query, context), scores)


# Attention, AdditiveAttention -------------------------------------------------------------


def tanh_sums(query: np.ndarray, key: np.ndarray, inner=None, outer=None) -> np.ndarray:
    """Σ_d outer_d · tanh(inner · (query[…, t, d] + key[…, s, d])), each factor 1 when None.

    query (…, Tq, dim), key (…, Tk, dim) → (…, Tq, Tk).
    """
    summed = query[..., :, None, :] + key[..., None, :, :]
    terms = np.tanh(summed if inner is None else inner * summed)
    return np.sum(terms if outer is None else outer * terms, axis=-1)


def apply_scores(
    config: Config, scores: np.ndarray, value: np.ndarray, masks: list[Mask] | None = None
):
    """Keras' `_apply_scores`: scores − 1e9 where the value's mask (B, Tv) or the causal mask
    is False, softmax over the value steps, then the weighted sum of value:
    (…, Tq, Tk), (…, Tk, dim) → (…, Tq, dim); the rows of queries their mask (B, Tq) drops
    are 0.

    With `return_attention_scores`: [output, softmax weights (…, Tq, Tk)].
    """
    found = list(masks or []) + [None, None]
    query_mask, value_mask = found[0], found[1]
    keep = None if value_mask is None else np.asarray(value_mask, dtype=bool)[..., None, :]
    if config.get("use_causal_mask", False):
        causal = causal_mask(*scores.shape[-2:])
        keep = causal if keep is None else keep & causal
    if keep is not None:
        scores = np.where(keep, scores, scores - scalar(-MASKED, scores))
    shifted = np.exp(scores - np.max(scores, axis=-1, keepdims=True))
    probs = shifted / np.sum(shifted, axis=-1, keepdims=True)
    output = probs @ value
    if query_mask is not None:
        rows = np.asarray(query_mask, dtype=bool)[..., None]
        output = np.where(rows, output, np.zeros((), output.dtype))
    return with_scores(config, output, probs)


@forward("Attention")
def attention(config: Config, weights: Weights, inputs: list[np.ndarray], training, masks=None):
    """Attention (Luong): softmax(scores)·value.

    dot: scores = scale · query·keyᵀ (scale only with use_scale);
    concat: scores = concat_score_weight · Σ_d tanh(scale · (query + key)).
    Shapes: query (B, Tq, dim), value (B, Tv, dim_v), key (B, Tv, dim); output (B, Tq, dim_v).
    """
    query, value, key = query_value_key(inputs)
    scale = weight(weights, "scale") if config.get("use_scale", False) else None
    if config.get("score_mode", "dot") == "concat":
        scores = weight(weights, "concat_score_weight") * tanh_sums(query, key, inner=scale)
    else:
        scores = query @ np.swapaxes(key, -1, -2)
        if scale is not None:
            scores = scores * scale
    return apply_scores(config, scores, value, masks)


@forward("AdditiveAttention")
def additive_attention(
    config: Config, weights: Weights, inputs: list[np.ndarray], training, masks=None
):
    """AdditiveAttention (Bahdanau): softmax(scores)·value, scores = Σ_d scale_d · tanh(q_d + k_d).

    scale (dim,) when use_scale (the default), else 1. Shapes: query (B, Tq, dim),
    value (B, Tv, dim_v), key (B, Tv, dim); output (B, Tq, dim_v).
    """
    query, value, key = query_value_key(inputs)
    scale = weight(weights, "scale") if config.get("use_scale", True) else None
    return apply_scores(config, tanh_sums(query, key, outer=scale), value, masks)
