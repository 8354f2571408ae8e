"""The programs checks wrote, kept by report id: the zip a report's `/forward` gives, or why
there is none.

    exported_zip(report, exports_dir) -> bytes     the zip; `exported_folder`: its folder.
                                                   Both raise ExportRefused, ExportUnavailable
                                                   or ExportNotReady (409), with the reason

Everything here reads what the check wrote (app.check.runner keeps it): the serving process
never reads the upload for an export.
"""

from __future__ import annotations

from pathlib import Path

from app.errors import ExportNotReady, ExportRefused, ExportUnavailable
from app.export.bundle import export_folder, read_record, zipped
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
        raise ExportUnavailable(
            "No program was written for this report: it is written by the check's reference "
            "side, which did not run here (the check was not asked for, or ended before it). "
            "Send the model again with check=true.",
            details,
        )
    if record.status != "written":
        reason = record.message or "Writing the program failed on our side; it was logged."
        raise ExportUnavailable(
            f"The model is not exported: {reason}", {**details, "reason_code": record.code}
        )
    return folder  # type: ignore[return-value]
