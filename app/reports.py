"""Reports kept by id: explain a submission, start its check, store the report, hand it back.

A submission is a model file or a spec, plus options. The same bytes with the same options
give the same report (content-addressed), unless `recompute` is asked for or its check ended
in an error (a crash or a timeout need not happen again). `Reports.create` reads top to
bottom: explain (app.explain) → decide and start the check (app.check.admission) → store →
answer. The breakdown is complete at once; the check, when asked for and possible, starts as
soon as the model is read, while the report is still being made, and runs on its own
(app.check), updating the stored report as it goes. A model file whose check does not run
(check=false, no workers) gets its exported program after the answer, from the weights the
file stores (app.export.unchecked); a check writes its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import __version__, timeline
from app.check.admission import Admission, CheckRequest, CheckSettings, Mode
from app.errors import CheckEnded, InvalidRequest, ReportNotFound
from app.explain import Explaining, explaining, explaining_spec, file_digest
from app.safety.limits import DEFAULT_LIMITS, ReadLimits
from app.safety.sniff import sniff_path
from app.schemas import CheckReport, KerasCall, Report, new_report_id
from app.store import ReportStore
from app.store.contract import ReportJson, report_json

if TYPE_CHECKING:  # the runner is the caller's, made where checks run (not by `inspect`)
    from app.check.model_read import ModelRead
    from app.check.runner import Checks
    from app.config import Settings

# The programs (app.export, app.check.inputs) and spec-and-weights pairs (app.pairs) are
# imported where they are used: `inspect` without the check uses neither, and importing them
# (the program writer's modules) was a sixth of its imports' CPU time.

__all__ = ["CheckSettings", "Mode", "Options", "Reports", "Submission"]

# The JSON of the last reports made, kept for their answer (`Reports.answer_json`): a request
# whose answer is not this JSON (a page's redirect, a diagnosis) leaves its own behind.
KEPT_DUMPS = 4
READS_AT_ONCE = 4  # model reads taken at once for the programs written after the answer


@dataclass(frozen=True)
class Options:
    """What the caller asked for besides the model."""

    check: bool = True
    wait: bool = False
    mode: Mode = "inference"
    keras_call: KerasCall | None = None  # None: the faster for the model (the worker decides)
    recompute: bool = False
    # The size costs count each input's unknown dimensions at: (input name or "*", size)
    # pairs (app.analysis.sizes); empty: the default.
    unknown_dims: tuple[tuple[str, int], ...] = ()
    # The report without what only a page or the JSON shows (`inspect`'s terminal tables:
    # app.analysis.report.build_report); never asked for through the API.
    brief: bool = False

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
        checks: Checks | None = None,
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
        # Programs of reports whose check does not run, written one at a time off the request.
        self._exports = ThreadPoolExecutor(1, thread_name_prefix="export")
        # Their model reads, taken as they come, several at once: a reading process that has
        # answered ends within milliseconds of its answer, whatever programs are queued.
        self._reads = ThreadPoolExecutor(READS_AT_ONCE, thread_name_prefix="model-read")
        self._pending_reads: set[Future] = set()
        self._pending_lock = threading.Lock()
        self._dumps: OrderedDict[str, ReportJson] = OrderedDict()
        self._dumps_lock = threading.Lock()

    def create(
        self,
        submission: Submission,
        options: Options,
        accept: Callable[[Report], object] | None = None,
        mark: Callable[[str], None] = lambda stage: None,
    ) -> tuple[Report, bool]:
        """The report for this submission, and whether it was made now (False: from the store).

        The submission's files are linked (or copied) into the check's own folder; the
        caller removes its request folder afterwards. `accept` sees the report before it
        is stored: what it raises leaves nothing stored (the check is abandoned). `mark` is
        told each stage as it begins: `reading` the model, then `reporting`.
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
        sizes = dict(options.unknown_dims)
        mark("reading")
        # The model read serves a check, and the program written when none runs (which a
        # store without an exports folder, `inspect`'s, does not keep): made only for them.
        # A check starts from it, before the report. Without a check it is made last
        # (app.explain, `read_last`) and waited for by the program's job, after the answer:
        # the reading process then outlives the `with`, and the job ends it.
        with_read = options.check or self.exports_dir is not None
        explained = self._explaining(submission, digest, report_id, sizes, with_read, options)
        with explained as ex:
            if options.check:  # the model read has come: the report is made beside the check
                mark("reporting")
                timeline.mark("model read")
            request = submission.check_request(options)
            # Decided, and started when it runs: Keras loads the model while the report is made.
            check = self.admission.start(ex.read if options.check else None, report_id, request)
            timeline.mark("check started")
            try:
                report = ex.report().model_copy(update={"check": check.report})
                if not options.check:  # the reading process read the model and made the
                    mark("reporting")  # report in one go: only now is the reading over
                timeline.mark("report made")
                if accept is not None:
                    accept(report)
                self._keep_upload(report, submission)
                dumped = report_json(report)  # once, for the store and the answer
                self.store.add(report, key, job=check.job, dumped=dumped)
                self._keep_dump(report.id, dumped)
                timeline.mark("report stored")
            except BaseException:
                check.abandon()  # it ends on its own, publishing nothing
                raise
            check.mark_stored()
            if check.report.status == "not_run" and with_read:  # no check writes its program
                if self._keeps_program(report, submission):
                    self._export_unchecked(report, submission, ex, ex.outlive())
        return report, True

    def _keeps_program(self, report: Report, submission: Submission) -> bool:
        """Whether a report whose check does not run gets its program here: a model file
        with weights, on a service that keeps programs. A spec without weights has none: its
        program is the check's (seeded weights), and the route says to ask for the check."""
        return (
            self.exports_dir is not None
            and submission.model_path is not None
            and report.source.format != "spec_json"
        )

    def _export_unchecked(
        self, report: Report, submission: Submission, ex: Explaining, end: Callable[[], None]
    ) -> None:
        """The program of a model file whose check does not run, from the weights the file
        stores, on the inputs the check would draw (app.export.unchecked): written after the
        report is answered, one at a time, from a link to the upload (the request folder goes
        with the request); until then the route says it is being written. `end` ends the
        explanation (its reading process), once the job has its model read."""
        from app.export.bundle import ExportRecord, export_folder, record_export
        from app.export.unchecked import UNCHECKED_MODEL

        try:
            assert self.exports_dir is not None and submission.model_path is not None
            folder = export_folder(self.exports_dir, report.id)
            record_export(folder, ExportRecord(status="writing"))
            model = folder / UNCHECKED_MODEL
            _link_or_copy(submission.model_path, model)
            taking = self._reads.submit(self._take_read, folder, model, ex, end)
        except BaseException:
            end()
            raise
        with self._pending_lock:
            self._pending_reads.add(taking)
        taking.add_done_callback(self._taken)

    def _taken(self, taking: Future) -> None:
        with self._pending_lock:
            self._pending_reads.discard(taking)

    def _take_read(self, folder: Path, model: Path, ex: Explaining, end: Callable[[], None]):
        """The model read, made last by the reading process, which then ends; the program
        is queued with it. A reading process that dies or hangs before its model read leaves
        the report as answered, and the program failed."""
        from app.export.bundle import failures_recorded

        read = None
        with failures_recorded(folder, f"taking the model read of report folder {folder}"):
            try:
                read = ex.read
            finally:
                end()
            assert read is not None
        if read is None:  # the program's failure is recorded
            model.unlink(missing_ok=True)
            return
        self._exports.submit(self._write_unchecked, folder, model, read)

    def _write_unchecked(self, folder: Path, model: Path, read: ModelRead) -> None:
        """The job: the check's inputs drawn from the model read, and the program."""
        from app.check.inputs import make_inputs
        from app.export.bundle import failures_recorded
        from app.export.unchecked import write_unchecked

        try:
            with failures_recorded(folder, f"writing the program of report folder {folder}"):
                inputs, _ = make_inputs(read.plan.inputs, self.admission.settings.seed)
                unsaved = read.plan.unsaved_weights
                write_unchecked(folder, model, self.limits, inputs, read.refusals, unsaved)
        finally:
            model.unlink(missing_ok=True)

    def answer_json(self, report: Report) -> bytes:
        """The report's JSON, as `report.model_dump_json()` writes it: for a report just made
        here, from the JSON its store was given, with the check it holds now (a report's body
        never changes; its check does)."""
        with self._dumps_lock:
            dumped = self._dumps.pop(report.id, None)
        if dumped is None or type(report) is not Report:  # a subclass writes more fields
            return report.model_dump_json().encode()
        return dumped.with_check(report.check)

    def _keep_dump(self, report_id: str, dumped: ReportJson) -> None:
        with self._dumps_lock:
            self._dumps[report_id] = dumped
            while len(self._dumps) > KEPT_DUMPS:
                self._dumps.popitem(last=False)

    def wait_for_exports(self) -> None:
        """Until every program queued so far is written (the tests, the CLI)."""
        with self._pending_lock:
            taking = list(self._pending_reads)
        wait_all(taking)  # each queues its program before it is done
        self._exports.submit(lambda: None).result()

    def _explaining(
        self,
        submission: Submission,
        digest: tuple[str, int] | None,
        report_id: str,
        sizes: dict[str, int],
        with_read: bool,
        options: Options,
    ) -> AbstractContextManager[Explaining]:
        if submission.model_path is None:
            return explaining_spec(submission.spec, report_id=report_id, unknown_dims=sizes)
        path, name, brief = submission.model_path, submission.filename, options.brief
        read_last = not options.check
        return explaining(
            path, name, digest, self.limits, report_id, sizes, with_read, brief, read_last
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

    def cancel_check(self, report_id: str) -> CheckReport:
        """Cancel the report's check while it is queued or running; its check after."""
        check = self.get_check(report_id)
        if check.status not in ("queued", "running") or self.checks is None:
            raise CheckEnded(
                f"The check has ended (status {check.status}); there is nothing to cancel.",
                {"status": check.status},
            )
        if not self.checks.cancel(report_id):
            raise CheckEnded(
                "The check has ended, or runs on a replica that does not share its checks "
                "with this one; there is nothing to cancel here.",
                {"status": check.status},
            )
        return self.get_check(report_id)

    def forward_program(self, report_id: str) -> bytes:
        """The report's standalone NumPy program as a zip (app.export), or a 409 saying
        why there is none."""
        from app.export.kept import exported_zip

        return exported_zip(self.get(report_id), self.exports_dir)

    def wait(self, report: Report, timeout_s: float) -> Report:
        """`report` once its check has ended, or as it stands after `timeout_s`. A check
        that ended within that time gives its final report, which replaces the one
        `report` holds: the body is the same as the store's, so it is not read again (on
        MobileNetV2, 1.4 MB of JSON parsed and validated)."""
        ended = None if self.checks is None else self.checks.wait(report.id, timeout_s)
        if ended is None:
            return self.get(report.id)
        return report.model_copy(update={"check": ended})

    def forget(self, report_id: str) -> None:
        """Remove a report this request stored and then refused (a diagnosis's numbers that
        turned out wrong once the check ran): its row, its kept upload and program."""
        self.store.remove(report_id)
        if self.uploads_dir is not None:
            (self.uploads_dir / report_id).unlink(missing_ok=True)
        if self.exports_dir is not None:
            from app.export.bundle import export_folder

            shutil.rmtree(export_folder(self.exports_dir, report_id), ignore_errors=True)

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
    from app.pairs import COMBINED_NAME, combine

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


def parse_unknown_dims(text: str | None) -> tuple[tuple[str, int], ...]:
    """`tokens=128,image=224` (per input), or `224` (every input), as Options holds it."""
    if not text or not text.strip():
        return ()
    pairs = []
    for part in text.split(","):
        name, _, size = part.strip().rpartition("=")
        try:
            pairs.append((name.strip() or "*", int(size)))
        except ValueError:
            raise InvalidRequest(
                "unknown_dims takes sizes by input name, as `tokens=128,image=224`, or one size "
                f"for every input, as `224`; {part.strip()!r} is neither."
            ) from None
    return tuple(pairs)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system
        shutil.copyfile(source, target)


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
    parts: dict[str, Any] = {
        "version": __version__,
        "model": digest[0] if digest else _json_digest(submission.spec),
        "inputs": _inputs_digest(submission),
        "check": options.check,
        "mode": options.mode,
        "keras_call": options.keras_call,
    }
    if options.unknown_dims:  # absent otherwise: the keys stored before the option still hold
        parts["unknown_dims"] = sorted(options.unknown_dims)
    if options.brief:
        parts["brief"] = True
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
