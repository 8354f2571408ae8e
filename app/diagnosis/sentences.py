"""The diagnosis's sentences: what a person reads first (`Diagnosis.message`)."""

from __future__ import annotations

from app.diagnosis.schemas import DiagnosedMistake, TensorError


def matches_sentence(tensors: list[TensorError]) -> str:
    """Every tensor within the tolerance: float32 noise, with its expected size."""
    worst = max(tensors, key=lambda t: t.max_rel_error or 0.0)
    return (
        f"Your numbers match Keras within float32 noise: the largest difference, "
        f"{worst.max_abs_error:.3g} on {worst.name}, is of the size float32 rounding gives "
        f"there (about {worst.expected_float32_error:.2g}). Not a mistake."
    )


def parting_sentence(first: str, mistakes: list[DiagnosedMistake], complete: bool) -> str:
    """Where theirs part from Keras, and the best mistake that reproduces them (or none)."""
    if not mistakes:
        searched = "" if complete else " (the search ran out of time before trying all)"
        return (
            f"Your numbers part from Keras at {first}, and no mistake in the catalogue "
            f"reproduces them{searched}; the difference is described below."
        )
    top = mistakes[0]
    away = (
        "where your array's shape is not Keras'"
        if top.evidence.error_to_keras is None
        else f"where Keras is {top.evidence.error_to_keras:.3g} away"
    )
    return (
        f"Your numbers part from Keras at {first}. {top.title} on {top.layer} reproduces "
        f"them (within {top.evidence.error_to_mistake:.2g}, {away})."
    )


def default_note(all_keras: bool) -> str:
    """What the numbers were compared with, when the caller did not say."""
    if all_keras:
        return "Compared with Keras' own outputs."
    return (
        "Compared with our reference forward, which the check proves equal to Keras' within "
        "its tolerance (Keras' own values are kept for the model's outputs of a check only)."
    )
