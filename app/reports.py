"""Reports as a service: explain a submission, keep the report, hand it back by id.

The web routes and the CLI both come through here, so there is one code path from a file to
a report. A submission is a model file or a spec, plus options. The same bytes with the same
options give the same report (content-addressed), unless `recompute` is asked for or its
check ended in an error (a crash or a timeout need not happen again). The
breakdown is complete at once; the check, when asked for and possible, starts as soon as the
model is read (the gate, app.service), while the report is still being made, and runs on its
own (app.checks), updating the stored report as it goes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from app import __version__
from app.analysis.budgets import DEFAULT_BUDGETS, BudgetFigures, BudgetLimits, check_figures
from app.analysis.inputs import caller_inputs, read_caller_arrays
from app.checks.pipeline import CheckJob
from app.checks.runner import CheckRunner
from app.errors import BudgetExceeded, InvalidRequest, ReportNotFound
from app.formats import Refusal
from app.runtime import write_arrays
from app.schemas import CheckInputs, CheckProgress, CheckReport, Report
from app.service import (
    Explanation,
    Gate,
    OnGate,
    explain_file,
    explain_spec,
    file_digest,
    new_report_id,
)
from app.store import ReportStore

Mode = Literal["inference", "training"]
MODEL_FILE = "model"
SPEC_FILE = "spec.json"
INPUTS_FILE = "inputs.npz"


@dataclass(frozen=True)
class Options:
    """What the caller asked for besides the model."""

    check: bool = True
    wait: bool = False
    mode: Mode = "inference"
    recompute: bool = False


@dataclass(frozen=True)
class CheckSettings:
    """How checks run: the numbers that come from Settings, passed in (not read here)."""

    tolerance: float = 1e-4
    seed: int = 0
    timeout_s: float = 300.0
    budgets: BudgetLimits = DEFAULT_BUDGETS


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

    def validate(self) -> None:
        if (self.model_path is None) == (self.spec is None):
            raise InvalidRequest(
                "Send either a model file (field `file`) or a spec (field `spec`), not "
                + ("both." if self.model_path is not None else "neither.")
            )


class Reports:
    """Create reports from submissions, start their checks, fetch them from the store."""

    def __init__(
        self,
        store: ReportStore,
        checks: CheckRunner | None = None,
        check_settings: CheckSettings | None = None,
        uploads_dir: Path | None = None,
    ) -> None:
        self.store, self.checks = store, checks
        self.check_settings = check_settings or CheckSettings()
        self.uploads_dir = uploads_dir  # where model files are kept; None: not kept

    def create(self, submission: Submission, options: Options) -> tuple[Report, bool]:
        """The report for this submission, and whether it was made now (False: from the store).

        The submission's files are linked (or copied) into the check's own folder; the
        caller removes its request folder afterwards.
        """
        submission.validate()
        digest = _file_digest(submission)
        key = content_key(submission, options, digest)
        stored = None if options.recompute else self.store.find(key)
        if stored is not None and stored.check.status != "error":  # an error may not recur
            return stored, False
        report_id = new_report_id()
        planned: list[tuple[CheckReport, CheckJob | None]] = []

        def on_gate(gate: Gate) -> None:
            check, job = self._plan_check(gate, report_id, submission, options)
            if job is not None:
                self._start(job)  # Keras loads the model while the report is made
            planned.append((check, job))

        try:
            explanation = _explain(submission, digest, report_id, on_gate)
            check, job = planned[0]
            report = explanation.report.model_copy(update={"check": check})
            self._keep_upload(report, submission)
            self.store.add(report, key)
        except BaseException:
            if planned and planned[0][1] is not None:
                planned[0][1].abandon()  # it ends on its own, publishing nothing
            raise
        if job is not None:
            job.mark_stored()
        return report, True

    def _start(self, job: CheckJob) -> None:
        assert self.checks is not None
        try:
            self.checks.start(job)
        except BaseException:
            self.checks.release()
            shutil.rmtree(job.job_dir, ignore_errors=True)
            raise

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

    def wait(self, report_id: str, timeout_s: float) -> Report:
        """The report once its check has ended, or as it stands after `timeout_s`."""
        if self.checks is not None:
            self.checks.wait(report_id, timeout_s)
        return self.get(report_id)

    def _keep_upload(self, report: Report, submission: Submission) -> None:
        if self.uploads_dir is not None and submission.model_path is not None:
            self.uploads_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(submission.model_path, self.uploads_dir / report.id)

    def _plan_check(
        self, gate: Gate, report_id: str, submission: Submission, options: Options
    ) -> tuple[CheckReport, CheckJob | None]:
        """Why the check does not run, or its job, queued. A model over the budgets for
        running it is refused outright (422, nothing stored) when the check is asked for."""
        refusal = self._refusal(gate, options)
        if refusal is not None:
            return refusal, None
        enforce_budgets(gate.figures, self.check_settings.budgets)
        arrays, inputs = _caller_inputs(gate, submission)
        assert self.checks is not None
        self.checks.admit()
        try:
            job = self._job(gate, report_id, submission, options, inputs)
            if arrays is not None:
                write_arrays(job.job_dir / INPUTS_FILE, "x", arrays)
        except BaseException:
            self.checks.release()
            raise
        return _queued(job), job

    def _refusal(self, gate: Gate, options: Options) -> CheckReport | None:
        if not options.check:
            return CheckReport(status="not_run", message="Not asked for (check=false).")
        if self.checks is None:
            return CheckReport(
                status="not_run",
                code="no-workers",
                message="This service runs no Keras workers (KEX_WORKERS=0), so it cannot "
                "run the check.",
            )
        if gate.refusals:
            return refused_check(gate.refusals)
        return None

    def _job(
        self, gate: Gate, report_id: str, submission: Submission, options: Options, inputs
    ) -> CheckJob:
        assert self.checks is not None
        job_dir = self.checks.new_job_dir()
        if submission.model_path is not None:
            model_path = job_dir / MODEL_FILE
            _place(submission.model_path, model_path, linked=submission.owned)
        else:
            model_path = job_dir / SPEC_FILE
            spec = submission.spec
            model_path.write_text(spec if isinstance(spec, str) else json.dumps(spec))
        settings = self.check_settings
        return CheckJob(
            report_id=report_id,
            job_dir=job_dir,
            kind="file" if submission.model_path is not None else "spec",
            model_path=model_path,
            format=gate.format,
            plan=gate.plan,
            mode=options.mode,
            seed=settings.seed,
            tolerance=settings.tolerance,
            timeout_s=settings.timeout_s,
            inputs=inputs,
        )


def refused_check(refusals: list[Refusal]) -> CheckReport:
    """The check of a model the safety scan says must never run in Keras, with every reason."""
    first = refusals[0]
    more = f" ({len(refusals) - 1} more reason(s) in details)" if len(refusals) > 1 else ""
    return CheckReport(
        status="refused",
        code=first.code,
        message=f"Keras is not asked to load this model: {first.reason}{more}",
        details={"refusals": [r.to_dict() for r in refusals]},
    )


def enforce_budgets(figures: BudgetFigures, limits: BudgetLimits) -> None:
    """Raise the 422 of the first budget over its limit, with the figures and a way out."""
    try:
        check_figures(figures, limits)
    except BudgetExceeded as exc:
        exc.message += " Send check=false for the breakdown alone."
        raise


def _not_found(report_id: str) -> ReportNotFound:
    return ReportNotFound(
        "No report has this id. Reports are kept for a limited time; upload the model again "
        "to make a new one.",
        {"id": report_id[:64]},
    )


def _caller_inputs(gate: Gate, submission: Submission) -> tuple[list | None, CheckInputs | None]:
    """The caller's inputs checked against the model's, or (None, None) for seeded ones."""
    if submission.inputs_path is None and submission.inputs_json is None:
        return None, None
    arrays = read_caller_arrays(
        gate.inputs, path=submission.inputs_path, value=submission.inputs_json
    )
    return caller_inputs(gate.inputs, arrays)


def _place(source: Path, target: Path, linked: bool) -> None:
    """`source` at `target` too: a hard link when the file is ours (an upload; no copy, and
    the throwaway process may still be reading it), else a copy (a caller's own file)."""
    if linked:
        try:
            os.link(source, target)
            return
        except OSError:
            pass  # another file system: copy
    shutil.copyfile(source, target)


def _queued(job: CheckJob) -> CheckReport:
    return CheckReport(
        status="queued",
        message="Waiting for a Keras worker.",
        mode=job.mode,
        progress=CheckProgress(stage="queued", done=0, total=1),
        tolerance=job.tolerance,
        inputs=job.inputs,
    )


def _file_digest(submission: Submission) -> tuple[str, int] | None:
    if submission.model_path is None:
        return None
    return submission.digest or file_digest(submission.model_path)


def _explain(
    submission: Submission, digest: tuple[str, int] | None, report_id: str, on_gate: OnGate
) -> Explanation:
    if submission.model_path is not None:
        return explain_file(
            submission.model_path,
            submission.filename,
            digest,
            report_id=report_id,
            on_gate=on_gate,
        )
    return explain_spec(submission.spec, report_id=report_id, on_gate=on_gate)


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
