"""Reports as a service: explain a submission, keep the report, hand it back by id.

The web routes and the CLI both come through here, so there is one code path from a file to
a report. A submission is a model file or a spec, plus options. The same bytes with the same
options give the same report (content-addressed), unless `recompute` is asked for.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from app import __version__
from app.errors import InvalidRequest, ReportNotFound
from app.schemas import CheckReport, Report
from app.service import explain_file, explain_spec, file_digest
from app.store import ReportStore

Mode = Literal["inference", "training"]


@dataclass(frozen=True)
class Options:
    """What the caller asked for besides the model."""

    check: bool = True
    wait: bool = False
    mode: Mode = "inference"
    recompute: bool = False


@dataclass
class Submission:
    """A model file on disk (in a folder of this request) or a spec; optional inputs."""

    model_path: Path | None = None
    filename: str | None = None
    spec: Any = None
    inputs_path: Path | None = None
    inputs_json: Any = None

    def validate(self) -> None:
        if (self.model_path is None) == (self.spec is None):
            raise InvalidRequest(
                "Send either a model file (field `file`) or a spec (field `spec`), not "
                + ("both." if self.model_path is not None else "neither.")
            )


class Reports:
    """Create reports from submissions and fetch them from the store."""

    def __init__(self, store: ReportStore) -> None:
        self.store = store

    def create(self, submission: Submission, options: Options) -> tuple[Report, bool]:
        """The report for this submission, and whether it was made now (False: from the store)."""
        submission.validate()
        digest = _file_digest(submission)
        key = content_key(submission, options, digest)
        if not options.recompute and (stored := self.store.find(key)) is not None:
            return stored, False
        report = _explain(submission, digest)
        report = report.model_copy(update={"check": initial_check(options)})
        self.store.add(report, key)
        return report, True

    def get(self, report_id: str) -> Report:
        report = self.store.get(report_id)
        if report is None:
            raise ReportNotFound(
                "No report has this id. Reports are kept for a limited time; upload the "
                "model again to make a new one.",
                {"id": report_id[:64]},
            )
        return report


def _file_digest(submission: Submission) -> tuple[str, int] | None:
    return file_digest(submission.model_path) if submission.model_path is not None else None


def _explain(submission: Submission, digest: tuple[str, int] | None) -> Report:
    if submission.model_path is not None:
        return explain_file(submission.model_path, submission.filename, digest)
    return explain_spec(submission.spec)


def initial_check(options: Options) -> CheckReport:
    if not options.check:
        return CheckReport(status="not_run", message="Not asked for (check=false).")
    return CheckReport(
        status="not_run", message="The manual-vs-predict check is not available yet."
    )


def content_key(
    submission: Submission, options: Options, digest: tuple[str, int] | None = None
) -> str:
    """sha256 of everything that shapes the report: the model's bytes, the inputs, the
    options that change the check, and this version of the explainer."""
    parts = {
        "version": __version__,
        "model": digest[0] if digest else _json_digest(submission.spec),
        "inputs": _inputs_digest(submission),
        "check": options.check,
        "mode": options.mode,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _inputs_digest(submission: Submission) -> str | None:
    if submission.inputs_path is not None:
        return file_digest(submission.inputs_path)[0]
    if submission.inputs_json is not None:
        return _json_digest(submission.inputs_json)
    return None


def _json_digest(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
