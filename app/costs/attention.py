"""Costs of the attention layers: the projections, then the two contractions per head.

Multi-head: the query, key and value projections (and the gate's), the scores Q·Kᵀ
(heads × query positions × key positions × key_dim), the weighted sum of the values
(heads × query positions × key positions × value_dim) and the output projection. The
softmax counts one FLOP per score, like any activation; the query's scaling one per element.
"""

from __future__ import annotations

from app.costs.rules import Cost, cost, dims, size


def _qvk(inputs):
    """(query, value, key): key defaults to value, value to query (as the layers read them)."""
    query = inputs[0]
    value = inputs[1] if len(inputs) > 1 else query
    return query, value, inputs[2] if len(inputs) > 2 else value


def _positions(config, query, key) -> tuple[int, int, int]:
    """(independent positions, query positions, key positions) attended over."""
    axes = config.get("attention_axes")
    if axes is None:
        return 1, size(query[1:-1]), size(key[1:-1])
    rank = len(query)
    axes = {a % rank for a in ([axes] if isinstance(axes, int) else axes)}
    inner = range(1, rank - 1)
    rest = size([query[a] for a in inner if a not in axes])
    return rest, size([query[a] for a in axes]), size([key[a] for a in axes])


def _heads_cost(config, inputs, outputs, heads: int, kv_heads: int, kd: int, vd: int) -> Cost:
    query, value, key = _qvk(inputs)
    tq, tk = size(query[1:-1]), size(key[1:-1])
    rest, aq, ak = _positions(config, query, key)
    out_dim = size(outputs[0]) // tq
    parts = [
        Cost(tq * query[-1] * heads * kd, f"query {tq} × {query[-1]} × {heads} × {kd}"),
        Cost(tk * key[-1] * kv_heads * kd, f"key {tk} × {key[-1]} × {kv_heads} × {kd}"),
        Cost(tk * value[-1] * kv_heads * vd, f"value {tk} × {value[-1]} × {kv_heads} × {vd}"),
        Cost(heads * rest * aq * ak * kd, f"scores {dims((heads, rest * aq, ak, kd))}"),
        Cost(heads * rest * aq * ak * vd, f"weighted sum {dims((heads, rest * aq, ak, vd))}"),
        Cost(tq * heads * vd * out_dim, f"output {tq} × {heads} × {vd} × {out_dim}"),
    ]
    if config.get("use_gate"):
        parts.append(Cost(tq * query[-1] * heads * vd, f"gate {tq} × {query[-1]} × {heads} × {vd}"))
    total = sum(parts, Cost())
    biases = tq * heads * kd + tk * kv_heads * (kd + vd) + size(outputs[0])
    other = [(heads * rest * aq * ak, "softmax"), (tq * heads * kd, "query scaling")]
    if config.get("use_bias", True):
        other.append((biases, "bias adds"))
    return Cost(total.macs, total.macs_text, tuple(other))


@cost("MultiHeadAttention")
def multi_head_attention(config, inputs, outputs) -> Cost:
    heads, kd = int(config["num_heads"]), int(config["key_dim"])
    vd = int(config.get("value_dim") or kd)
    return _heads_cost(config, inputs, outputs, heads, heads, kd, vd)


@cost("GroupedQueryAttention")
def grouped_query_attention(config, inputs, outputs) -> Cost:
    heads, hd = int(config["num_query_heads"]), int(config["head_dim"])
    return _heads_cost(config, inputs, outputs, heads, int(config["num_key_value_heads"]), hd, hd)


@cost("Attention")
def attention(config, inputs, outputs) -> Cost:
    """Scores query·keyᵀ (or concat's Σ tanh), softmax, weighted sum of the values."""
    query, value, key = _qvk(inputs)
    tq, tk, dim = size(query[1:-1]), size(key[1:-1]), query[-1]
    scores = tq * tk
    weighted = Cost(scores * value[-1], f"weighted sum {tq} × {tk} × {value[-1]}")
    if config.get("score_mode", "dot") == "concat":
        summed = Cost(scores * dim, f"scores {tq} × {tk} × {dim}")
        other = ((3 * scores * dim, "query + key, tanh, scaling"), (scores, "softmax"))
    else:
        summed = Cost(scores * dim, f"scores {tq} × {tk} × {dim}")
        scale = ((scores, "scaling"),) if config.get("use_scale") else ()
        other = (*scale, (scores, "softmax"))
    total = summed + weighted
    return Cost(total.macs, total.macs_text, other)


@cost("AdditiveAttention")
def additive_attention(config, inputs, outputs) -> Cost:
    """Scores Σ scale·tanh(query + key) (a sum of products), softmax, weighted sum."""
    query, value, key = _qvk(inputs)
    tq, tk, dim = size(query[1:-1]), size(key[1:-1]), query[-1]
    total = Cost(tq * tk * dim, f"scores {tq} × {tk} × {dim}") + Cost(
        tq * tk * value[-1], f"weighted sum {tq} × {tk} × {value[-1]}"
    )
    return Cost(
        total.macs,
        total.macs_text,
        ((2 * tq * tk * dim, "query + key, tanh"), (tq * tk, "softmax")),
    )
