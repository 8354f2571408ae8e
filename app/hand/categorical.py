"""Categorical preprocessing layers by hand: CategoryEncoding and Hashing."""

from __future__ import annotations

from app.hand.rules import Facts, Hand, hand
from app.hand.rules import settings as line

ENCODINGS = {
    "int": "the bin itself",
    "one_hot": "1 at the id's position, 0 elsewhere",
    "multi_hot": "1 where an id occurs along the last axis",
    "count": "how often each id occurs along the last axis",
}


def _mode(facts: Facts, default: str) -> str:
    mode = str(facts.get("output_mode", default))
    return "multi_hot" if mode == "binary" else mode


@hand("CategoryEncoding")
def category_encoding(facts: Facts) -> Hand:
    mode, tokens = _mode(facts, "multi_hot"), facts.get("num_tokens", "?")
    return Hand(
        settings=line(f"num_tokens {tokens}", f"output_mode {mode}"),
        formula=f"y[…, i] = {ENCODINGS.get(mode, mode)} (i = 0 … {tokens} − 1)",
        conventions=("An id outside [0, num_tokens) sets nothing.",),
    )


@hand("Hashing")
def hashing(facts: Facts) -> Hand:
    mode, bins = _mode(facts, "int"), facts.get("num_bins", "?")
    mask = facts.get("mask_value")
    salted = facts.get("salt") is not None
    formula = f"bin = {'SipHash' if salted else 'FarmHash64'}(str(x)) mod {bins}"
    if mask is not None:
        formula = f"bin = 0 if x = {mask}, else 1 + hash(str(x)) mod ({bins} − 1)"
    return Hand(
        settings=line(
            f"num_bins {bins}",
            f"output_mode {mode}",
            None if mask is None else f"mask_value {mask}",
            "salt" if salted else None,
        ),
        formula=formula + ("" if mode == "int" else f"; y = {ENCODINGS.get(mode, mode)}"),
        conventions=(
            "Numbers are hashed as their decimal text (floats truncated to integers first), "
            "as tf.strings.to_hash_bucket_fast does.",
        ),
    )


@hand("StringLookup", "IntegerLookup", "TextVectorization")
def lookup(facts: Facts) -> Hand:
    mode = str(facts.get("output_mode", "int"))
    vocabulary = facts.get("vocabulary")
    size = facts.get("vocabulary_size")
    shown = f"{len(vocabulary)} entries" if isinstance(vocabulary, list) else "in the assets"
    what = "the index of each token" if mode == "int" else f"{mode} over the vocabulary"
    return Hand(
        settings=line(f"output_mode {mode}", f"vocabulary {shown}", f"vocabulary_size {size}"),
        formula=f"y = {what}",
        conventions=("Indices count the mask token (if any) and num_oov_indices OOV slots first.",),
    )
