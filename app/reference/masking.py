"""Output masks of the non-recurrent layers: Keras' `compute_mask`, class by class.

A mask is a boolean array over the leading axes of a tensor (N, T) — True where the
timestep holds data. `Embedding(mask_zero=True)` and `Masking` create one; the merging
layers combine theirs. The classes whose registry entry has the trait `passes_mask` (Keras:
`supports_masking = True` with the default `compute_mask`) hand their first input's mask on
unchanged (`first_input_mask`); a class with neither drops the mask (`drops_mask`), as Keras
does (with a warning) for a layer that does not support masking. The recurrent layers and
Bidirectional register their own rules.
"""

from __future__ import annotations

import numpy as np

from app.reference.forwards import Config, Mask, compute_mask, scalar


def first_input_mask(config: Config, inputs, masks: list[Mask], outputs) -> list[Mask]:
    """The first input's mask, unchanged (Keras' default `compute_mask`)."""
    return [masks[0] if masks else None]


def drops_mask(config: Config, inputs, masks: list[Mask], outputs) -> list[Mask]:
    """No mask on any output: the class does not support masking, and Keras drops the mask
    there (with a warning)."""
    return [None] * len(outputs)


@compute_mask("Embedding")
def embedding_mask(config: Config, inputs, masks: list[Mask], outputs) -> list[Mask]:
    """mask_zero=True: mask[n, t] = (ids[n, t] ≠ 0), shape (N, T); otherwise none."""
    if not config.get("mask_zero", False):
        return [None]
    return [np.not_equal(inputs[0], 0)]


@compute_mask("Masking")
def masking_mask(config: Config, inputs, masks: list[Mask], outputs) -> list[Mask]:
    """mask[n, t] = any_f(x[n, t, f] ≠ mask_value), shape (N, T)."""
    x = inputs[0]
    return [np.any(x != scalar(config.get("mask_value", 0.0), x), axis=-1)]


# Keras' `Merge.compute_mask`: None unless every input has a mask, else their OR.
@compute_mask("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")
def merged_mask(config: Config, inputs, masks: list[Mask], outputs) -> list[Mask]:
    """None if an input has no mask, else mask_1 ∨ mask_2 ∨ …"""
    if not masks or any(m is None for m in masks):
        return [None]
    return [np.logical_or.reduce(np.broadcast_arrays(*masks))]


@compute_mask("Concatenate")
def concatenate_mask(config: Config, inputs, masks: list[Mask], outputs) -> list[Mask]:
    """Keras' `Concatenate.compute_mask`: each input's mask widened to its full shape
    (all True where it has none), concatenated along `axis`, then any() over the last axis."""
    if all(m is None for m in masks):
        return [None]
    full = [_full_mask(x, m) for x, m in zip(inputs, masks, strict=True)]
    return [np.any(np.concatenate(full, axis=int(config.get("axis", -1))), axis=-1)]


def _full_mask(x: np.ndarray, mask: Mask) -> np.ndarray:
    if mask is None:
        return np.ones(x.shape, dtype=bool)
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim < x.ndim:
        mask = np.broadcast_to(mask[..., None], x.shape)
    return mask


@compute_mask("Dot", "GlobalAveragePooling1D", "GlobalAvgPool1D")
def no_mask(config: Config, inputs, masks: list[Mask], outputs) -> list[Mask]:
    """These support masking but their output carries none."""
    return [None]
