"""One error hierarchy with stable codes. Standard library only.

    ExplainerError                      (base: code, status, message, details)
    ├── BadRequest                      400
    │   ├── InvalidSpec                 invalid-spec
    │   ├── InvalidRequest              invalid-request
    │   └── MalformedModel              malformed-model
    ├── NotFound                        404
    │   └── ReportNotFound              report-not-found
    ├── FileTooLarge                    413 file-too-large
    ├── UnsupportedFormat               415 unsupported-format
    └── Unprocessable                   422
        ├── UnknownLayers               unknown-layers
        ├── WeightMismatch              weight-mismatch
        └── UnsupportedModel            unsupported-model

Codes are part of the API: tools match on them. Messages are sentences for a person and
never carry raw library exception text.
"""

from __future__ import annotations

from typing import Any


class ExplainerError(Exception):
    """Base of every error the product reports to a user."""

    code: str = "internal-error"
    status: int = 500

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class BadRequest(ExplainerError):
    status = 400
    code = "bad-request"


class InvalidSpec(BadRequest):
    code = "invalid-spec"


class InvalidRequest(BadRequest):
    code = "invalid-request"


class MalformedModel(BadRequest):
    code = "malformed-model"


class NotFound(ExplainerError):
    status = 404
    code = "not-found"


class ReportNotFound(NotFound):
    code = "report-not-found"


class FileTooLarge(ExplainerError):
    status = 413
    code = "file-too-large"


class UnsupportedFormat(ExplainerError):
    status = 415
    code = "unsupported-format"


class Unprocessable(ExplainerError):
    status = 422
    code = "unprocessable"


class UnknownLayers(Unprocessable):
    code = "unknown-layers"


class WeightMismatch(Unprocessable):
    code = "weight-mismatch"


class UnsupportedModel(Unprocessable):
    code = "unsupported-model"


def all_error_classes() -> list[type[ExplainerError]]:
    """Every concrete error class, for the README table and the meta-tests."""
    found: list[type[ExplainerError]] = []
    pending: list[type[ExplainerError]] = [ExplainerError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found
