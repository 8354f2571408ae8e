"""Attention layers by hand: MultiHeadAttention, GroupedQueryAttention, Attention,
AdditiveAttention."""

from __future__ import annotations

from app.hand.rules import Facts, Hand, hand
from app.hand.rules import settings as line

MASKING = (
    "A causal mask or the inputs' masks set the masked scores to a large negative number first."
)
INFERENCE = "Dropout on the attention probabilities is off at inference."


@hand("MultiHeadAttention", "GroupedQueryAttention")
def multi_head_attention(facts: Facts) -> Hand:
    heads = facts.get("num_heads", facts.get("num_query_heads", "?"))
    key_dim = facts.get("key_dim", facts.get("head_dim", "?"))
    grouped = facts.class_name == "GroupedQueryAttention"
    kv_heads = facts.get("num_key_value_heads")
    return Hand(
        settings=line(
            f"heads {heads}",
            f"key_value_heads {kv_heads}" if grouped else None,
            f"key_dim {key_dim}",
            "use_causal_mask" if facts.get("use_causal_mask") else None,
            None if facts.get("use_bias", True) else "no bias",
        ),
        formula=(
            "per head h: Q = query · query_kernel_h + query_bias_h, K = key · key_kernel_h + "
            "key_bias_h, V = value · value_kernel_h + value_bias_h; "
            f"A_h = softmax(Q · Kᵀ / √{key_dim}) · V; y = Σ_h A_h · output_kernel_h + output_bias"
        ),
        conventions=(
            "query/key/value kernels are (dim, heads, key_dim) and output_kernel "
            "(heads, value_dim, dim): heads are an axis of their own, not packed in one matrix.",
            *(
                ("Query head u reads key/value head u // (heads / key_value_heads).",)
                if grouped
                else ()
            ),
            MASKING,
            INFERENCE,
        ),
    )


@hand("Attention")
def attention(facts: Facts) -> Hand:
    mode = facts.get("score_mode", "dot")
    scale = "scale · " if facts.get("use_scale", False) else ""
    scores = (
        f"scores = {scale}query · keyᵀ"
        if mode == "dot"
        else "scores = concat_score_weight · Σ_d tanh(query_d + key_d)"
    )
    return Hand(
        settings=line(f"score_mode {mode}", "use_scale" if facts.get("use_scale") else None),
        formula=f"{scores}; y = softmax(scores) · value (key is value when not given)",
        conventions=(MASKING, INFERENCE),
    )


@hand("AdditiveAttention")
def additive_attention(facts: Facts) -> Hand:
    use_scale = facts.get("use_scale", True)
    scale = "scale_d · " if use_scale else ""
    return Hand(
        settings=line("use_scale" if use_scale else "no scale"),
        formula=f"scores = Σ_d {scale}tanh(query_d + key_d); y = softmax(scores) · value",
        conventions=(MASKING, INFERENCE),
    )
