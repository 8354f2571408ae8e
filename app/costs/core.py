"""Costs of the core layers: Dense, EinsumDense, Embedding, Masking, Identity."""

from __future__ import annotations

from app.costs.rules import Cost, activation_term, bias_term, cost, dims, elementwise, free, size

cost("Identity", "Embedding")(free)  # Embedding looks rows up: no arithmetic
cost("Masking")(elementwise("mask comparisons"))


@cost("Dense")
def dense(config, inputs, outputs) -> Cost:
    """Each output element sums input_dim products."""
    out, n_in = outputs[0], inputs[0][-1]
    elements = size(out)
    return Cost(
        elements * n_in,
        f"{dims(out[1:])} outputs × {n_in}",
        bias_term(config, elements) + activation_term(config, elements),
    )


@cost("EinsumDense")
def einsum_dense(config, inputs, outputs) -> Cost:
    """Each output element sums the products over the letters the output lacks (their sizes
    are the input's: `...` stands for the leading axes, or the trailing ones when it ends
    the input's term)."""
    left, output_spec = config["equation"].split("->")
    input_spec, weight_spec = left.split(",")
    x = inputs[0]
    letters = input_spec.replace("...", "")
    offset = len(x) - len(letters) if input_spec.startswith("...") else 0
    sizes = {letter: x[offset + i] for i, letter in enumerate(letters)}
    summed = [sizes[c] for c in weight_spec if c not in output_spec and c in sizes]
    out = outputs[0]
    elements = size(out)
    bias = ((elements, "bias adds"),) if config.get("bias_axes") else ()
    return Cost(
        elements * size(summed),
        f"{dims(out[1:])} outputs × ({dims(summed)})",
        bias + activation_term(config, elements),
    )
