"""Costs of the layers without contractions: activations, merges, normalisation, pooling,
preprocessing, regularization, reshaping, Keras operations and tf.keras op layers.

Each counts FLOPs per element (0 MACs), except Dot and an op layer's matmul, which contract.
Regularization layers are the identity at inference (the check and a predict run them so),
and reshapes, crops, padding, Concatenate and the random augmentations move data only.
"""

from __future__ import annotations

from app.costs.rules import Cost, cost, dims, elementwise, free, size
from app.reference.preprocessing import AUGMENTATIONS

# Activations: one FLOP per element whatever the function (the README's convention).
cost("ReLU", "LeakyReLU", "ELU", "Softmax", "PReLU", "ThresholdedReLU")(elementwise("activation"))


@cost("Activation")
def activation(config, inputs, outputs) -> Cost:
    name = config.get("activation", "linear")
    return (
        Cost() if name == "linear" else elementwise(f"{name} activation")(config, inputs, outputs)
    )


# Merging ------------------------------------------------------------------------------


def _pairwise(what: str, extra: int = 0):
    """(inputs − 1) operations per output element, plus `extra` per element (Average's
    divide)."""

    def rule(config, inputs, outputs) -> Cost:
        n = size(outputs[0])
        other = [((len(inputs) - 1) * n, what)]
        if extra:
            other.append((extra * n, "divisions"))
        return Cost(other=tuple(other))

    return rule


cost("Add")(_pairwise("additions"))
cost("Multiply")(_pairwise("multiplications"))
cost("Maximum", "Minimum")(_pairwise("comparisons"))
cost("Average")(_pairwise("additions", extra=1))
cost("Subtract")(elementwise("subtractions"))
cost("CustomScaleLayer")(elementwise("scale and add", per_element=2))
cost("Concatenate")(free)


@cost("Dot")
def dot(config, inputs, outputs) -> Cost:
    """Each output element sums the products along the contracted axis."""
    axes = config.get("axes", -1)
    first = axes if isinstance(axes, int) else axes[0]
    length = inputs[0][first]
    other = (
        ((3 * sum(size(s) for s in inputs), "l2 normalisation"),) if config.get("normalize") else ()
    )
    out = outputs[0]
    return Cost(size(out) * length, f"{dims(out[1:])} outputs × {length}", other)


# Normalization ------------------------------------------------------------------------


@cost("BatchNormalization")
def batch_normalization(config, inputs, outputs) -> Cost:
    """x · scale + offset per element, as Keras computes it with the statistics folded
    (the per-channel folding is not counted)."""
    return Cost(other=((2 * size(outputs[0]), "scale and offset"),))


def _over_statistics(config, inputs, outputs) -> Cost:
    """Per element: the mean (an add), the variance (subtract, square, add), the division
    by the standard deviation (a multiply); then scale and center, 1 each when set."""
    n = size(outputs[0])
    other = [(5 * n, "normalisation")]
    for key in ("scale", "center"):
        if config.get(key, True):
            other.append((n, key))
    return Cost(other=tuple(other))


cost("LayerNormalization", "GroupNormalization")(_over_statistics)
cost("UnitNormalization")(elementwise("normalisation (square, add, multiply)", per_element=3))
cost("LayerScale")(elementwise("scale"))


@cost("RMSNormalization")
def rms_normalization(config, inputs, outputs) -> Cost:
    """Square, add, multiply by the inverse root; then scale."""
    return Cost(other=((3 * size(outputs[0]), "normalisation"), (size(outputs[0]), "scale")))


# Pooling ------------------------------------------------------------------------------


def _window(config, rank: int) -> tuple[int, ...]:
    k = config.get("pool_size", 2)
    return (k,) * rank if isinstance(k, int) else tuple(k) * (rank if len(k) == 1 else 1)


def _pool(what: str, divide: bool):
    def rule(config, inputs, outputs) -> Cost:
        """Every output looks at its window: pool_size volume comparisons or additions."""
        out = outputs[0]
        window = _window(config, len(out) - 2)
        other = [(size(out) * size(window), f"{what} ({dims(window)} per output)")]
        if divide:
            other.append((size(out), "divisions"))
        return Cost(other=tuple(other))

    return rule


def _whole(what: str, divide: bool):
    def rule(config, inputs, outputs) -> Cost:
        """Every input element is visited once (global and adaptive pooling)."""
        other = [(size(inputs[0]), what)]
        if divide:
            other.append((size(outputs[0]), "divisions"))
        return Cost(other=tuple(other))

    return rule


for _rank in (1, 2, 3):
    cost(f"MaxPooling{_rank}D")(_pool("comparisons", divide=False))
    cost(f"AveragePooling{_rank}D")(_pool("additions", divide=True))
    cost(f"GlobalMaxPooling{_rank}D", f"AdaptiveMaxPooling{_rank}D")(
        _whole("comparisons", divide=False)
    )
    cost(f"GlobalAveragePooling{_rank}D", f"AdaptiveAveragePooling{_rank}D")(
        _whole("additions", divide=True)
    )

# Preprocessing, regularization, reshaping ----------------------------------------------

cost("Rescaling", "Normalization")(elementwise("scale and offset", per_element=2))
cost("Resizing")(elementwise("interpolation (1 per output)"))
cost("CategoryEncoding")(elementwise("comparisons (1 per output)"))
cost("Hashing")(elementwise("hashing or encoding (1 per output)"))
cost("StringLookup", "IntegerLookup", "TextVectorization")(elementwise("lookups (1 per output)"))
cost("CenterCrop", *AUGMENTATIONS)(free)  # the identity at inference; CenterCrop copies
cost(
    "Dropout",
    "GaussianDropout",
    "GaussianNoise",
    "AlphaDropout",
    "ActivityRegularization",
    "StochasticDepth",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
)(free)


@cost("UpSampling1D", "UpSampling2D", "UpSampling3D")
def up_sampling(config, inputs, outputs) -> Cost:
    """Nearest repeats values (0); bilinear interpolates (1 per output, like Resizing)."""
    if config.get("interpolation", "nearest") == "nearest":
        return Cost()
    return Cost(other=((size(outputs[0]), "interpolation (1 per output)"),))


cost(
    *(f"{kind}{rank}D" for kind in ("ZeroPadding", "Cropping") for rank in (1, 2, 3)),
    "Reshape",
    "Flatten",
    "Permute",
    "RepeatVector",
)(free)

# Keras operations (`x + 3.0`) and tf.keras op layers ----------------------------------

cost(
    *(
        f"ops.{name}"
        for name in (
            "Add Subtract Multiply Divide TrueDivide Maximum Minimum Power Equal NotEqual "
            "Greater GreaterEqual Less LessEqual LogicalAnd LogicalOr Negative Abs Absolute "
            "Sqrt Square Exp Log LogicalNot"
        ).split()
    )
)(elementwise("element-wise operations"))
cost("ops.Cast")(free)
cost("ops.Any", "ops.All", "ops.Sum", "ops.Max", "ops.Min")(_whole("reductions", divide=False))
cost("ops.Mean")(_whole("additions", divide=True))

MOVES = frozenset(
    "identity ones_like zeros_like cast concat stack reshape transpose compat.v1.transpose "
    "expand_dims compat.v1.expand_dims squeeze compat.v1.squeeze __operators__.getitem".split()
)


def _op_layer(class_name: str):
    def rule(config, inputs, outputs) -> Cost:
        """matmul contracts; data movement is free; reductions visit every input; any other
        allowlisted function is one FLOP per output element."""
        from app.reference.op_layers import op_layer_function

        name = op_layer_function(class_name, config)
        if name is None or name in MOVES or not outputs:
            return Cost()
        if name == "linalg.matmul":
            out, length = outputs[0], inputs[0][-1] if inputs else 0
            return Cost(size(out) * length, f"{dims(out[1:])} outputs × {length}")
        if name.startswith("math.reduce_"):
            return _whole("reductions", divide=name == "math.reduce_mean")(config, inputs, outputs)
        return elementwise(name)(config, inputs, outputs)

    return rule


cost("TFOpLambda")(_op_layer("TFOpLambda"))
cost("SlicingOpLambda")(_op_layer("SlicingOpLambda"))
cost("TensorFlowOpLayer")(_op_layer("TensorFlowOpLayer"))
