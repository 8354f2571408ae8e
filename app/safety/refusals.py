"""Refusals: why a model that we can explain must never run in Keras.

A refusal is data, not an error. The model is still read and explained (structure and stored
weights, by our own parser); only the check, which would hand the file to Keras, is refused.
Codes are stable and kebab-case, like error codes, and never collide with them.
"""

from __future__ import annotations

from dataclasses import dataclass

REFUSAL_CODES: dict[str, str] = {
    "lambda-layer": "A Lambda layer: Python code (bytecode or a function reference) in the file.",
    "python-lambda": "A Python lambda serialized as `__lambda__`, wherever it appears.",
    "function-reference": 'A function named by reference (`"class_name": "function"`).',
    "code-layer": "A layer that runs foreign code: TFSMLayer, TorchModuleWrapper, JaxLayer.",
    "file-vocabulary": "A lookup or vectorization layer that reads its vocabulary from a path.",
    "unknown-layer": "A layer class the explainer does not know (custom or third-party).",
    "unknown-op-function": "A tf.keras op layer (TFOpLambda, ...) calling a TensorFlow function "
    "the explainer does not read.",
    "unknown-object": "An initializer, constraint, policy or other object Keras does not provide.",
    "unknown-activation": "An activation that is not one of Keras' own names.",
    "unexpected-module": "A known class named with a module Keras does not write for it.",
    "unexpected-registered-name": "A known class carrying a user-registered name.",
}


@dataclass(frozen=True)
class Refusal:
    """One reason a model must not run in Keras.

    `path` is the chain of layer names from the top model down to the layer concerned (empty
    for the model itself), as in the report's layer paths; `class_name` is the class of the
    object refused; `reason` is a sentence for a person.

    A plain dataclass: the scan makes them from values it has checked, and the scan (with
    every command that imports it) needs no pydantic; a model that holds refusals
    (app.check.model_read's `ModelRead`) validates them where they cross from the reading
    process, `__post_init__` included.
    """

    code: str
    class_name: str | None
    path: tuple[str, ...]
    reason: str

    def __post_init__(self) -> None:
        if self.code not in REFUSAL_CODES:
            raise ValueError(f"unknown refusal code {self.code!r}")
