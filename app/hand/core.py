"""Core layers by hand: Dense, EinsumDense, Embedding, Identity, Masking."""

from __future__ import annotations

from app.hand.rules import Facts, Hand, activation_name, applied, bias_setting, hand, number
from app.hand.rules import settings as line

DENSE_LAYOUT = (
    "kernel is (in, out): y = x · kernel multiplies the last axis of x by the kernel's rows "
    "(PyTorch's Linear stores the transpose, (out, in))."
)


@hand("Dense")
def dense(facts: Facts) -> Hand:
    activation = activation_name(facts.get("activation"))
    inner = "x · kernel + bias" if facts.has("bias") else "x · kernel"
    return Hand(
        settings=line(activation, bias_setting(facts)),
        formula=f"y = {applied(activation, inner)}",
        conventions=(DENSE_LAYOUT,),
    )


@hand("EinsumDense")
def einsum_dense(facts: Facts) -> Hand:
    activation = activation_name(facts.get("activation"))
    equation = facts.get("equation", "?")
    bias = facts.get("bias_axes")
    inner = f'einsum("{equation}", x, kernel)' + (" + bias" if facts.has("bias") else "")
    return Hand(
        settings=line(f"equation {equation}", f"bias_axes {bias}" if bias else None, activation),
        formula=f"y = {applied(activation, inner)}",
        conventions=("The bias is stored shaped to broadcast over the output axes it names.",),
    )


@hand("Embedding")
def embedding(facts: Facts) -> Hand:
    return Hand(
        settings=line(
            f"input_dim {facts.get('input_dim', '?')}",
            f"output_dim {facts.get('output_dim', '?')}",
            "mask_zero" if facts.get("mask_zero", False) else None,
        ),
        formula="y[…, :] = embeddings[ids[…], :]",
        conventions=("Row i of embeddings is the vector of id i; float ids are cast to int.",),
    )


@hand("Identity")
def identity(facts: Facts) -> Hand:
    return Hand(settings=line(), formula="y = x")


@hand("Masking")
def masking(facts: Facts) -> Hand:
    value = number(facts.get("mask_value", 0.0))
    return Hand(
        settings=line(f"mask_value {value}"),
        formula=f"y[n, t, :] = x[n, t, :] if any(x[n, t, :] ≠ {value}) else 0",
        conventions=("The timesteps it zeroes are masked for the layers after it.",),
    )
