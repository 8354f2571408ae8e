"""The programs checks wrote, kept by report id: the zip a report's `/forward` gives, or why
there is none.

    exported_zip(report, exports_dir) -> bytes     the zip; `exported_folder`: its folder.
                                                   Both raise ExportRefused, ExportUnavailable,
                                                   ExportNeedsCheck or ExportNotReady (409),
                                                   with the reason

Everything here reads what was written for the report: by its check (app.check.runner keeps
it), or, for a model file whose check did not run, when the report was made
(app.export.unchecked). The serving process never reads the upload for an export.
"""

from __future__ import annotations

from pathlib import Path

from app.errors import (
    ExplainerError,
    ExportNeedsCheck,
    ExportNotReady,
    ExportRefused,
    ExportUnavailable,
)
from app.export.bundle import export_folder, read_record, zipped
from app.safety.refusals import REFUSAL_CODES
from app.schemas import Report

RUNNING = ("queued", "running")


def exported_zip(report: Report, exports_dir: Path | None) -> bytes:
    """The zip of `report`'s program (model_forward.py, weights.npz, inputs, Keras' outputs,
    README.txt)."""
    return zipped(exported_folder(report, exports_dir))


def exported_folder(report: Report, exports_dir: Path | None) -> Path:
    """The folder holding `report`'s program, or the 409 that says why there is none."""
    check = report.check
    details = {"check_status": check.status, "check_code": check.code}
    if check.status == "refused":
        raise ExportRefused(
            "The model is not exported: the check refused it, so no program was written. "
            + (check.message or ""),
            details,
        )
    if check.status in RUNNING:
        raise ExportNotReady(
            "The check is still running; the program is written by it. Ask again once it "
            "has ended.",
            details,
        )
    folder = export_folder(exports_dir, report.id) if exports_dir is not None else None
    record = read_record(folder) if folder is not None else None
    if record is None:
        raise _no_record(report, details)
    if record.status == "writing":  # check=false: written after the report was answered
        raise ExportNotReady(
            "The program is being written from the model file; ask again in a few seconds.",
            details,
        )
    if record.status == "refused" and record.code in REFUSAL_CODES:  # check=false's scan
        raise ExportRefused(
            f"The model is not exported: Keras would not be asked to load it: {record.message}",
            {**details, "reason_code": record.code},
        )
    if record.status != "written":
        reason = record.message or "Writing the program failed on our side; it was logged."
        raise ExportUnavailable(
            f"The model is not exported: {reason}", {**details, "reason_code": record.code}
        )
    return folder  # type: ignore[return-value]


def _no_record(report: Report, details: dict) -> ExplainerError:
    """Why a report has no program at all."""
    if report.check.status == "not_run" and report.source.format == "spec_json":
        return ExportNeedsCheck(
            "This model is a spec without weights and its check did not run: an exported spec "
            "runs on the weights its check draws (seeded), so the check writes it. Send the "
            "spec again with check=true, to a service that runs checks.",
            details,
        )
    return ExportUnavailable(
        "No program was written for this report: it is written by the check's reference "
        "side, or when the report is made for a model file whose check does not run, and "
        "neither happened here. Send the model again with check=true.",
        details,
    )
