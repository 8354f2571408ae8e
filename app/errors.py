"""One error hierarchy with stable codes. Standard library only.

    ExplainerError                      (base: code, status, message, details)
    ├── BadRequest                      400
    │   ├── InvalidSpec                 invalid-spec
    │   │   ├── JsonTooDeep             json-too-deep
    │   │   ├── DuplicateKeys           duplicate-keys
    │   │   └── InvalidNumber           invalid-number
    │   ├── InvalidRequest              invalid-request
    │   ├── InvalidYours                invalid-yours (a diagnosis's numbers)
    │   │   ├── YoursUnknownLayer       yours-unknown-layer
    │   │   ├── YoursWrongShape         yours-wrong-shape
    │   │   ├── YoursWrongDtype         yours-wrong-dtype
    │   │   └── YoursNotFinite          yours-not-finite
    │   ├── ModelNotKept                model-not-kept
    │   ├── MalformedModel              malformed-model
    │   │   └── UnsafeFile              unsafe-file
    │   │       ├── UnsafeMemberName    unsafe-member-name
    │   │       ├── UnexpectedMember    unexpected-member
    │   │       ├── DuplicateMember     duplicate-member
    │   │       ├── EncryptedMember     encrypted-member
    │   │       ├── PolyglotFile        polyglot-file
    │   │       ├── UnsafeLink          unsafe-link
    │   │       ├── ExternalStorage     external-storage
    │   │       ├── UnsupportedDataType unsupported-data-type
    │   │       ├── UnknownFilter       unknown-filter
    │   │       ├── OversizedAttribute  oversized-attribute
    │   │       └── UnreadableFile      unreadable-file
    │   └── PathInConfig                path-in-config
    ├── NotFound                        404
    │   ├── ReportNotFound              report-not-found
    │   ├── ComparisonNotFound          comparison-not-found
    │   ├── LayerNotFound               layer-not-found
    │   └── GroupNotFound               group-not-found
    ├── FileTooLarge                    413 file-too-large
    │   ├── JsonTooLarge                json-too-large
    │   ├── DecompressionBomb           decompression-bomb
    │   └── ShapeBomb                   shape-bomb
    ├── UnsupportedFormat               415 unsupported-format
    ├── Unprocessable                   422
    │   ├── UnknownLayers               unknown-layers
    │   ├── UnmappedKeras1Keys          unmapped-keras-one-keys
    │   ├── WeightMismatch              weight-mismatch
    │   ├── UnsupportedModel            unsupported-model
    │   ├── DiagnosisTimeout            diagnosis-timeout
    │   └── BudgetExceeded              budget-exceeded
    │       ├── ParameterBudgetExceeded parameter-budget-exceeded
    │       ├── TensorBudgetExceeded    tensor-budget-exceeded
    │       ├── ActivationBudgetExceeded activation-budget-exceeded
    │       ├── LayerBudgetExceeded     layer-budget-exceeded
    │       ├── InputBudgetExceeded     input-budget-exceeded
    │       └── DiskBudgetExceeded      disk-budget-exceeded
    ├── Conflict                        409
    │   ├── ExportRefused               export-refused
    │   ├── ExportUnavailable           export-unavailable
    │   ├── ExportNotReady              export-not-ready
    │   └── CheckEnded                  check-ended
    ├── Busy                            503 busy (with Retry-After)
    └── DiskFull                        503 disk-full

Codes are part of the API: tools match on them. Messages are sentences for a person and
never carry raw library exception text.

A model that is parseable but carries code (a Lambda, a custom class) is not an error: it is
still explained, and its refusals travel as data (`app.safety.Refusal`), never as exceptions.
"""

from __future__ import annotations

from typing import Any


class ExplainerError(Exception):
    """Base of every error the product reports to a user."""

    code: str = "internal-error"
    status: int = 500

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        # A message may quote a file's own text, and text decoded with surrogateescape can
        # hold lone surrogates that no UTF-8 answer can carry: shown escaped (`\udc80`).
        message = message.encode("utf-8", "backslashreplace").decode("utf-8")
        super().__init__(message)
        self.message = message
        self.details = details or {}


class BadRequest(ExplainerError):
    status = 400
    code = "bad-request"


class InvalidSpec(BadRequest):
    code = "invalid-spec"


class JsonTooDeep(InvalidSpec):
    """JSON nested deeper than the cap: refused before the parser recurses into it."""

    code = "json-too-deep"


class DuplicateKeys(InvalidSpec):
    """A JSON object that gives one key twice: parsers disagree on which one wins."""

    code = "duplicate-keys"


class InvalidNumber(InvalidSpec):
    """NaN, Infinity, or a number too large for any Keras config."""

    code = "invalid-number"


class InvalidRequest(BadRequest):
    code = "invalid-request"


class InvalidYours(BadRequest):
    """The numbers sent for a diagnosis (`yours`): `details` names the field and the layer."""

    code = "invalid-yours"


class YoursUnknownLayer(InvalidYours):
    code = "yours-unknown-layer"


class YoursWrongShape(InvalidYours):
    code = "yours-wrong-shape"


class YoursWrongDtype(InvalidYours):
    code = "yours-wrong-dtype"


class YoursNotFinite(InvalidYours):
    code = "yours-not-finite"


class ModelNotKept(BadRequest):
    """A diagnosis of a report whose model file was not kept, and was not sent again."""

    code = "model-not-kept"


class MalformedModel(BadRequest):
    code = "malformed-model"


class UnsafeFile(MalformedModel):
    """A file built to attack a reader: refused by the safety scan before it is read."""

    code = "unsafe-file"


class UnsafeMemberName(UnsafeFile):
    code = "unsafe-member-name"


class UnexpectedMember(UnsafeFile):
    code = "unexpected-member"


class DuplicateMember(UnsafeFile):
    code = "duplicate-member"


class EncryptedMember(UnsafeFile):
    code = "encrypted-member"


class PolyglotFile(UnsafeFile):
    """Bytes that are valid as two formats at once: each reader would see another model."""

    code = "polyglot-file"


class UnsafeLink(UnsafeFile):
    code = "unsafe-link"


class ExternalStorage(UnsafeFile):
    code = "external-storage"


class UnsupportedDataType(UnsafeFile):
    code = "unsupported-data-type"


class UnknownFilter(UnsafeFile):
    code = "unknown-filter"


class OversizedAttribute(UnsafeFile):
    code = "oversized-attribute"


class UnreadableFile(UnsafeFile):
    """A file whose reading hung, crashed or ran out of memory in a throwaway process."""

    code = "unreadable-file"


class PathInConfig(BadRequest):
    """A file path or URL in a model config: nothing Keras needs to build a model."""

    code = "path-in-config"


class NotFound(ExplainerError):
    status = 404
    code = "not-found"


class ReportNotFound(NotFound):
    code = "report-not-found"


class ComparisonNotFound(NotFound):
    code = "comparison-not-found"


class LayerNotFound(NotFound):
    code = "layer-not-found"


class GroupNotFound(NotFound):
    """A view of the graph asked for by a group the report's graph does not have."""

    code = "group-not-found"


class FileTooLarge(ExplainerError):
    status = 413
    code = "file-too-large"


class JsonTooLarge(FileTooLarge):
    code = "json-too-large"


class DecompressionBomb(FileTooLarge):
    """An archive member that expands past the cap, whatever its header claims."""

    code = "decompression-bomb"


class ShapeBomb(FileTooLarge):
    """An HDF5 dataset that declares far more than it stores (or than the cap allows)."""

    code = "shape-bomb"


class UnsupportedFormat(ExplainerError):
    status = 415
    code = "unsupported-format"


class Unprocessable(ExplainerError):
    status = 422
    code = "unprocessable"


class UnknownLayers(Unprocessable):
    code = "unknown-layers"


class UnmappedKeras1Keys(Unprocessable):
    """Keras 1 config keys with no Keras 2 counterpart: the model cannot be read as Keras 2
    (and 3) would; every such key of the model is named, with its layer."""

    code = "unmapped-keras-one-keys"


class WeightMismatch(Unprocessable):
    code = "weight-mismatch"


class UnsupportedModel(Unprocessable):
    code = "unsupported-model"


class DiagnosisTimeout(Unprocessable):
    """The diagnosis of a user's numbers took longer than the check's timeout."""

    code = "diagnosis-timeout"


class BudgetExceeded(Unprocessable):
    """A model too big to run: `details` carries every figure, every limit, and which failed."""

    code = "budget-exceeded"


class ParameterBudgetExceeded(BudgetExceeded):
    code = "parameter-budget-exceeded"


class TensorBudgetExceeded(BudgetExceeded):
    code = "tensor-budget-exceeded"


class ActivationBudgetExceeded(BudgetExceeded):
    code = "activation-budget-exceeded"


class LayerBudgetExceeded(BudgetExceeded):
    code = "layer-budget-exceeded"


class InputBudgetExceeded(BudgetExceeded):
    code = "input-budget-exceeded"


class DiskBudgetExceeded(BudgetExceeded):
    """The check would write more to disk at once than KEX_CHECK_MAX_DISK_BYTES."""

    code = "disk-budget-exceeded"


class Conflict(ExplainerError):
    """The report exists, but what is asked of it cannot be given in its state."""

    status = 409
    code = "conflict"


class ExportRefused(Conflict):
    """The check refused the model (a Lambda, a custom class): no program is written for it."""

    code = "export-refused"


class ExportUnavailable(Conflict):
    """No program was written: a class has no reference forward, a call the program cannot
    write, or its check ended before writing one."""

    code = "export-unavailable"


class ExportNeedsCheck(Conflict):
    """A spec without weights whose check did not run: its program runs on the weights the
    check draws (seeded), so it is written by the check."""

    code = "export-needs-check"


class ExportNotReady(Conflict):
    """The check that writes the program has not finished yet."""

    code = "export-not-ready"


class CheckEnded(Conflict):
    """A check that is no longer queued or running cannot be cancelled."""

    code = "check-ended"


def all_error_classes() -> list[type[ExplainerError]]:
    """Every concrete error class, for the README table and the meta-tests."""
    found: list[type[ExplainerError]] = []
    pending: list[type[ExplainerError]] = [ExplainerError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


class Busy(ExplainerError):
    """Every Keras worker is busy and the queue of checks is full (503, with Retry-After)."""

    status = 503
    code = "busy"


class DiskFull(ExplainerError):
    """The disk the checks write to has less free space than a check needs right now."""

    status = 503
    code = "disk-full"
