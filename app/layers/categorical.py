"""Categorical preprocessing layers: CategoryEncoding and Hashing (Keras'
keras.src.layers.preprocessing groups them with the others).

Neither has weights. Both encode integer ids as Keras' `encode_categorical_inputs` does:
`int` (Hashing only: the ids themselves), `one_hot` (a trailing axis of 1 is replaced by the
ids' axis), `multi_hot` and `count` (the last axis folded into one of num_tokens/num_bins).
"""

from __future__ import annotations

from app.graph import Shape
from app.layers.fields import NUMBER_OR_TEXT, optional
from app.layers.registry import Config, Traits, register, single

FAMILY = "preprocessing"


def encoded_shape(shape: Shape, depth: int, output_mode: str) -> Shape:
    """CategoryEncoding.compute_output_shape: one_hot appends `depth` unless the last axis
    is 1 (then replaced; a rank-1 input keeps its axis); multi_hot and count replace the
    last axis by `depth`; a scalar input gives (depth,)."""
    if len(shape) == 0:
        return (depth,)
    if output_mode == "one_hot" and (shape[-1] != 1 or len(shape) == 1):
        return (*shape, depth)
    return (*shape[:-1], depth)


@register(
    "CategoryEncoding",
    family=FAMILY,
    summary=(
        "output = the integer ids encoded over num_tokens: one_hot, multi_hot (1 where an id "
        "occurs along the last axis) or count (how often)."
    ),
)
def category_encoding_output(config: Config, input_shapes: list) -> Shape:
    mode = config.get("output_mode", "multi_hot")
    mode = "multi_hot" if mode == "binary" else mode
    return encoded_shape(single(input_shapes), int(config["num_tokens"]), mode)


@register(
    "Hashing",
    family=FAMILY,
    fields={"mask_value": optional(NUMBER_OR_TEXT)},  # a value of its inputs
    summary=(
        "output = each value's bin: FarmHash64 of its decimal text mod num_bins (SipHash "
        "with a salt; 0 kept for mask_value), then encoded by output_mode."
    ),
)
def hashing_output(config: Config, input_shapes: list) -> Shape:
    shape = single(input_shapes)
    mode = config.get("output_mode", "int")
    if mode == "int":
        return shape
    return (*shape[:-1], int(config["num_bins"])) if shape else (int(config["num_bins"]),)


# The lookup layers: their vocabulary is in the config (`vocabulary`, or a `.keras` file's
# assets) and `vocabulary_size` counts it with its mask and OOV indices; no weights (tf_idf's
# `idf_weights` are in the config too).


LOOKUP = Traits(reads_vocabulary=True)


def lookup_depth(config: Config) -> int | None:
    """The encoded outputs' last size: max_tokens when pad_to_max_tokens, else the
    vocabulary's size (None when the config does not record it)."""
    size = config.get("max_tokens") if config.get("pad_to_max_tokens") else None
    size = config.get("vocabulary_size") if size is None else size
    return None if size is None else int(size)


def lookup_output(config: Config, input_shapes: list) -> Shape:
    """IndexLookup.compute_output_shape: int keeps the shape; one_hot appends the depth (or
    replaces a trailing 1); multi_hot, count, tf_idf replace the last axis by it."""
    shape = single(input_shapes)
    mode = config.get("output_mode", "int")
    if mode == "int":
        return shape
    depth = lookup_depth(config)
    if mode == "one_hot":
        return (*shape[:-1], depth) if len(shape) > 1 and shape[-1] == 1 else (*shape, depth)
    return (*shape[:-1], depth)


for _name, _what in {
    "StringLookup": "each string's index in the vocabulary",
    "IntegerLookup": "each integer's index in the vocabulary",
}.items():
    register(
        _name,
        family=FAMILY,
        summary=(
            f"output = {_what} (mask and OOV indices first), or encoded over it "
            "(one_hot, multi_hot, count, tf_idf)."
        ),
        traits=LOOKUP,
    )(lookup_output)


@register(
    "TextVectorization",
    family=FAMILY,
    summary=(
        "output = each text standardized, split and turned into n-grams, then their "
        "indices in the vocabulary (int: padded or cut to output_sequence_length) or encoded "
        "over it."
    ),
    traits=LOOKUP,
)
def text_vectorization_output(config: Config, input_shapes: list) -> Shape:
    shape = single(input_shapes)
    if config.get("output_mode", "int") == "int":
        length = config.get("output_sequence_length")
        return (shape[0], None if length is None else int(length))
    if config.get("split", "whitespace") is None:
        shape = (*shape, 1) if len(shape) <= 1 else shape
    else:
        shape = (*shape, None)
    return lookup_output(config, [shape])
