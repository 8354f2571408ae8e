"""The JSON contract of a diagnosis (`POST /api/v1/reports/{id}/diagnoses`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas import Report


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TensorError(_Schema):
    """Their numbers for one tensor against Keras'."""

    name: str = Field(description="The layer whose output this is.")
    shape: list[int]
    against: Literal["keras", "reference"] = Field(
        description="keras: Keras' own values; reference: our reference forward, which the "
        "check proved equal to Keras (see `against_note`)."
    )
    their_shape: list[int] | None = Field(
        None,
        description="Your array's shape, when it is not Keras' (`shape`): only a mistake that "
        "changes the shape (return_sequences confused) is searched, and no error is measured.",
    )
    max_abs_error: float | None = Field(description="None when the shapes differ.")
    max_rel_error: float | None = Field(
        description="max_abs_error / the largest |value| Keras gives; None when the shapes differ."
    )
    expected_float32_error: float = Field(
        description="The size of float32 rounding expected here: 2⁻²³ × scale × √(layers "
        "up to this one), an estimate."
    )
    matches: bool = Field(description="Within the tolerance: float32 noise, not a mistake.")


class Evidence(_Schema):
    tensor: str = Field(description="The tensor compared (a layer's output).")
    error_to_mistake: float = Field(description="Max |theirs − the mistaken forward|.")
    error_to_keras: float | None = Field(
        description="Max |theirs − Keras| on the same tensor; None when the shapes differ."
    )


class DiagnosedMistake(_Schema):
    code: str = Field(description="Stable: the catalogue entry (app/diagnosis).")
    layer: str = Field(description="The first layer where the mistake is made.")
    layers: list[str] = Field(description="Every layer the replay made it on.")
    class_name: str
    title: str
    form: str = Field(description="Which form of the mistake reproduced them, when several.")
    evidence: Evidence
    explanation: str
    fix: str = Field(description="The fix, as a one-line code change.")


class Difference(_Schema):
    """What their numbers look like where nothing in the catalogue explains them."""

    layer: str
    shape: Literal[
        "constant-factor",
        "constant-shift",
        "per-channel-factor",
        "transposed",
        "permuted-channels",
        "borders-only",
        "unexplained",
    ]
    message: str
    value: float | list[int] | None = None


class Diagnosis(_Schema):
    verdict: Literal["matches-keras", "explained", "unexplained"]
    message: str
    tolerance: float = Field(description="Largest max_rel_error taken as float32 noise.")
    against_note: str = Field(description="What the numbers were compared with.")
    tensors: list[TensorError]
    first_divergence: str | None = Field(
        None, description="The first layer (in the model's order) where theirs part from Keras."
    )
    mistakes: list[DiagnosedMistake] = Field(
        default_factory=list,
        description="The catalogue's mistakes that reproduce theirs, best first.",
    )
    difference: Difference | None = None
    searched: int = Field(0, description="Mistaken forwards replayed.")
    complete: bool = Field(
        True, description="False when the model-wide search ran out of time before the end."
    )
    search_s: float = 0.0


class ReportWithDiagnosis(Report):
    """`POST /api/v1/reports`: the report, and with `yours` the diagnosis of their numbers
    (answered once; not stored with the report)."""

    diagnosis: Diagnosis | None = Field(None, description="Present when `yours` was sent.")
