"""Reports kept by id: explain a submission, start its check, store the report, hand it back.

A submission is a model file or a spec, plus options. The same bytes with the same options
give the same report (content-addressed), unless `recompute` is asked for or its check ended
in an error (a crash or a timeout need not happen again). `Reports.create` reads top to
bottom: explain (app.explain) → decide and start the check (app.check.admission) → store →
answer. The breakdown is complete at once; the check, when asked for and possible, starts as
soon as the model is read, while the report is still being made, and runs on its own
(app.check), updating the stored report as it goes. A model file whose check does not run
(check=false, no workers) gets its exported program before the answer, from the weights the
file stores (app.export.unchecked); a check writes its own.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import __version__
from app.check.admission import Admission, CheckRequest, CheckSettings, Mode
from app.check.inputs import make_inputs
from app.check.model_read import ModelRead
from app.errors import InvalidRequest, ReportNotFound
from app.explain import Explaining, explaining, explaining_spec, file_digest
from app.export.bundle import export_folder
from app.export.kept import exported_zip
from app.export.unchecked import write_unchecked
from app.pairs import COMBINED_NAME, combine
from app.safety.limits import DEFAULT_LIMITS, ReadLimits
from app.safety.sniff import sniff_path
from app.schemas import CheckReport, KerasCall, Report, new_report_id
from app.store import ReportStore

if TYPE_CHECKING:  # the runner is the caller's, made where checks run (not by `inspect`)
    from app.check.runner import CheckRunner
    from app.config import Settings

__all__ = ["CheckSettings", "Mode", "Options", "Reports", "Submission"]


@dataclass(frozen=True)
class Options:
    """What the caller asked for besides the model."""

    check: bool = True
    wait: bool = False
    mode: Mode = "inference"
    keras_call: KerasCall | None = None  # None: the faster for the model (the worker decides)
    recompute: bool = False

    def __post_init__(self) -> None:
        if self.keras_call == "predict" and self.mode == "training":
            raise InvalidRequest(
                "keras_call=predict runs inference only; in training mode Keras is called "
                "with training=True (send keras_call=call, or leave it out)."
            )


@dataclass
class Submission:
    """A model file on disk (in a folder of this request) or a spec; optional inputs."""

    model_path: Path | None = None
    filename: str | None = None
    spec: Any = None
    inputs_path: Path | None = None
    inputs_json: Any = None
    owned: bool = True  # the file is ours (an upload): a check may link it into its folder
    digest: tuple[str, int] | None = None  # the file's (sha256, size), when taken on receipt
    weights_path: Path | None = None  # the weights file saved beside a spec (save_weights)

    def validate(self) -> None:
        if (self.model_path is None) == (self.spec is None):
            raise InvalidRequest(
                "Send either a model file (field `file`) or a spec (field `spec`), not "
                + ("both." if self.model_path is not None else "neither.")
            )

    def check_request(self, options: Options) -> CheckRequest:
        return CheckRequest(
            asked=options.check,
            mode=options.mode,
            keras_call=options.keras_call,
            model_path=self.model_path,
            spec=self.spec,
            owned=self.owned,
            inputs_path=self.inputs_path,
            inputs_json=self.inputs_json,
        )


class Reports:
    """Create reports from submissions, start their checks, fetch them from the store."""

    def __init__(
        self,
        store: ReportStore,
        checks: CheckRunner | None = None,
        check_settings: CheckSettings | None = None,
        uploads_dir: Path | None = None,
        limits: ReadLimits = DEFAULT_LIMITS,
        exports_dir: Path | None = None,
    ) -> None:
        self.store, self.checks = store, checks
        self.exports_dir = exports_dir  # where checks keep the programs they write
        self.admission = Admission(checks, check_settings)
        self.uploads_dir = uploads_dir  # where model files are kept; None: not kept
        self.limits = limits  # the reading process's caps

    def create(self, submission: Submission, options: Options) -> tuple[Report, bool]:
        """The report for this submission, and whether it was made now (False: from the store).

        The submission's files are linked (or copied) into the check's own folder; the
        caller removes its request folder afterwards.
        """
        submission.validate()
        if submission.weights_path is not None:
            submission = with_weights(submission, self.limits)
        digest = _file_digest(submission)
        key = content_key(submission, options, digest)
        stored = None if options.recompute else self.store.find(key)
        if stored is not None and stored.check.status != "error":  # an error may not recur
            return stored, False
        report_id = new_report_id()
        with self._explaining(submission, digest, report_id) as ex:  # the model is read
            read = ex.read
            request = submission.check_request(options)
            # Decided, and started when it runs: Keras loads the model while the report is made.
            check = self.admission.start(ex.read, report_id, request)
            try:
                report = ex.report().model_copy(update={"check": check.report})
                self._keep_upload(report, submission)
                self.store.add(report, key)
            except BaseException:
                check.abandon()  # it ends on its own, publishing nothing
                raise
        check.mark_stored()
        if check.report.status == "not_run":  # no check writes its program: written now
            self._export_unchecked(report, submission, read)
        return report, True

    def _export_unchecked(self, report: Report, submission: Submission, read: ModelRead) -> None:
        """The program of a model file whose check does not run, from the weights the file
        stores, on the inputs the check would draw (app.export.unchecked). A spec without
        weights has none: its program is the check's (seeded weights), and the route says to
        ask for the check."""
        if self.exports_dir is None or submission.model_path is None:
            return
        if report.source.format == "spec_json":
            return
        inputs, _ = make_inputs(read.plan.inputs, self.admission.settings.seed)
        write_unchecked(
            export_folder(self.exports_dir, report.id),
            submission.model_path,
            self.limits,
            inputs,
            read.refusals,
            read.plan.unsaved_weights,
        )

    def _explaining(
        self, submission: Submission, digest: tuple[str, int] | None, report_id: str
    ) -> AbstractContextManager[Explaining]:
        if submission.model_path is None:
            return explaining_spec(submission.spec, report_id=report_id)
        return explaining(
            submission.model_path, submission.filename, digest, self.limits, report_id
        )

    def get(self, report_id: str) -> Report:
        report = self.store.get(report_id)
        if report is None:
            raise _not_found(report_id)
        return report

    def get_check(self, report_id: str) -> CheckReport:
        """A report's check alone: what a page polls while the check runs."""
        check = self.store.get_check(report_id)
        if check is None:
            raise _not_found(report_id)
        return check

    def forward_program(self, report_id: str) -> bytes:
        """The report's standalone NumPy program as a zip (app.export), or a 409 saying
        why there is none."""
        return exported_zip(self.get(report_id), self.exports_dir)

    def wait(self, report_id: str, timeout_s: float) -> Report:
        """The report once its check has ended, or as it stands after `timeout_s`."""
        if self.checks is not None:
            self.checks.wait(report_id, timeout_s)
        return self.get(report_id)

    def _keep_upload(self, report: Report, submission: Submission) -> None:
        if self.uploads_dir is not None and submission.model_path is not None:
            self.uploads_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(submission.model_path, self.uploads_dir / report.id)


def read_limits(settings: Settings) -> ReadLimits:
    """The reading process's caps from the settings; the safety scan's own keep their
    defaults. Here, beside `Reports`, so that `keras-explainer inspect` has them without
    importing the web app (app.main)."""
    return ReadLimits(
        isolation_timeout_s=settings.read_timeout_s,
        isolation_memory_bytes=settings.read_max_memory_bytes,
    )


def with_weights(submission: Submission, limits: ReadLimits) -> Submission:
    """A spec (a field, or a .json file) with its weights file: the one model file they make
    (app.pairs), in the weights file's folder, which is the request's."""
    assert submission.weights_path is not None
    if submission.model_path is not None:
        if sniff_path(submission.model_path) != "spec_json":
            raise InvalidRequest(
                "A weights file goes with a spec (model.to_json()); this model file holds "
                "its weights already."
            )
        spec_text = submission.model_path.read_text(encoding="utf-8", errors="replace")
    else:
        spec = submission.spec
        spec_text = spec if isinstance(spec, str) else json.dumps(spec)
    target = submission.weights_path.with_name(COMBINED_NAME)
    combine(spec_text, submission.weights_path, target, limits)
    return replace(
        submission,
        model_path=target,
        filename=submission.filename or COMBINED_NAME,
        spec=None,
        weights_path=None,
        owned=True,
        digest=None,
    )


def _not_found(report_id: str) -> ReportNotFound:
    return ReportNotFound(
        "No report has this id. Reports are kept for a limited time; upload the model again "
        "to make a new one.",
        {"id": report_id[:64]},
    )


def _file_digest(submission: Submission) -> tuple[str, int] | None:
    if submission.model_path is None:
        return None
    return submission.digest or file_digest(submission.model_path)


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
        "keras_call": options.keras_call,
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
