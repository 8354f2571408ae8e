"""Admission: whether a check runs, and if so its folder, inputs and place; then its start.

Once the model is read (`ModelRead`), `Admission.start` decides: not asked for, no
workers, refused by the safety scan (each a `CheckReport` that says why), over a budget
(422, nothing stored), busy (503), or admitted: its place and folder are taken from the
runner, the model placed in the folder, the caller's inputs checked and written, and the
check started, to run while the report is still being made. The answer is a `DecidedCheck`
that the caller (app.reports) finishes in order:

    decided.report          the `CheckReport` to store with the report ("queued", or why not)
    decided.mark_stored()   the report is stored: the check may now write to the store
    decided.abandon()       the report failed: the check ends on its own, writing nothing
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import TypeAdapter

from app.check.budgets import DEFAULT_BUDGETS, BudgetFigures, BudgetLimits, check_figures
from app.check.codes import not_asked
from app.check.disk import (
    DEFAULT_MAX_DISK_BYTES,
    budgeted_need,
    enforce_free_space,
)
from app.check.folder import CheckFolder
from app.check.inputs import BATCH_SIZE, caller_inputs, read_caller_arrays
from app.check.model_read import ModelRead
from app.errors import BudgetExceeded
from app.safety.refusals import Refusal
from app.schemas import CheckInputs, CheckProgress, CheckReport, KerasCall
from app.store.contract import Job

# The check, its pipeline, the runner and the worker pool are imported where a check starts:
# a report without one (`keras-explainer inspect`, check=false) never loads them.
if TYPE_CHECKING:
    from app.check.check import Check
    from app.check.keras import OutputCaps
    from app.check.runner import Checks

Mode = Literal["inference", "training"]
_REFUSALS = TypeAdapter(list[Refusal])


@dataclass(frozen=True)
class CheckSettings:
    """How checks run: the numbers that come from Settings, passed in (not read here)."""

    tolerance: float = 1e-4
    seed: int = 0
    timeout_s: float = 300.0  # the least a check gets (`check_timeout`)
    macs_per_s: float = 1e8  # the slowest forward a check is allowed (`check_timeout`)
    budgets: BudgetLimits = DEFAULT_BUDGETS
    max_disk_bytes: int = DEFAULT_MAX_DISK_BYTES  # what one check may write at once


@dataclass(frozen=True)
class CheckRequest:
    """What the caller asked of the check, and the model and inputs as it gave them."""

    asked: bool
    mode: Mode
    keras_call: KerasCall | None = None
    model_path: Path | None = None  # a file; else `spec`
    spec: Any = None
    owned: bool = True  # the file is ours (an upload): it may be linked into the check's folder
    inputs_path: Path | None = None
    inputs_json: Any = None


@dataclass
class DecidedCheck:
    """A check decided on: its `report` to store, and the check itself, started, when it
    runs."""

    report: CheckReport
    check: Check | None = None
    job: Job | None = None  # a queued check's: stored with its report, in one transaction

    def mark_stored(self) -> None:
        if self.check is not None:
            self.check.mark_stored()

    def abandon(self) -> None:
        if self.check is not None:
            self.check.abandon()  # a running one ends on its own, publishing nothing
        if self.job is not None and self.check is not None:
            shutil.rmtree(self.check.folder.path, ignore_errors=True)  # never queued


class Admission:
    """Decides on checks and prepares the ones that run."""

    def __init__(self, runner: Checks | None, settings: CheckSettings | None = None):
        self.runner = runner
        self.settings = settings or CheckSettings()

    def start(self, read: ModelRead | None, report_id: str, request: CheckRequest) -> DecidedCheck:
        """Why the check does not run, or the check, started (queued for a Keras worker). A
        model over the budgets for running it is refused outright (422, nothing stored) when
        the check is asked for. `read` is None only when it is not (app.reports)."""
        if read is None:  # made only for a check asked for (app.reports)
            assert not request.asked
            return DecidedCheck(not_asked())
        refusal = self._refusal(read, request)
        if refusal is not None:
            return DecidedCheck(refusal)
        enforce_budgets(read.figures, self.settings.budgets)
        arrays, inputs = _caller_inputs(read, request)
        batch = inputs.batch_size if inputs else BATCH_SIZE
        need = budgeted_need(read.figures, batch, self.settings.max_disk_bytes)
        assert self.runner is not None
        folder = self.runner.admit()
        try:
            enforce_free_space(need, folder.path)
            check = self._check(folder, read, report_id, request, inputs)
            if arrays is not None:
                from app.check.keras import write_arrays

                write_arrays(folder.inputs, "x", arrays)
            job = self.runner.start(check)
        except BaseException:
            self.runner.release(folder)
            raise
        return DecidedCheck(_queued(check), check, job)

    def _refusal(self, read: ModelRead, request: CheckRequest) -> CheckReport | None:
        if not request.asked:
            return not_asked()
        if self.runner is None:
            return CheckReport(
                status="not_run",
                code="no-workers",
                message="This service runs no Keras workers (KEX_WORKERS=0), so it cannot "
                "run the check.",
            )
        if read.subclass is not None:
            return subclassed_check(read.subclass)
        if read.refusals:
            return refused_check(read.refusals)
        return None

    def _check(
        self,
        folder: CheckFolder,
        read: ModelRead,
        report_id: str,
        request: CheckRequest,
        inputs: CheckInputs | None,
    ) -> Check:
        from app.check.check import Check

        # An uploaded .json file is a spec, like the `spec` field.
        kind = "file" if request.model_path is not None and read.format != "spec_json" else "spec"
        if request.model_path is not None:  # a spec uploaded as a file goes to spec.json
            _place(request.model_path, folder.model(kind), linked=request.owned)
        else:
            spec = request.spec
            folder.model(kind).write_text(spec if isinstance(spec, str) else json.dumps(spec))
        settings = self.settings
        return Check(
            report_id=report_id,
            folder=folder,
            kind=kind,
            format=read.format,
            plan=read.plan,
            mode=request.mode,
            keras_call=request.keras_call,
            seed=settings.seed,
            tolerance=settings.tolerance,
            timeout_s=check_timeout(
                settings, read.macs, inputs.batch_size if inputs else BATCH_SIZE
            ),
            inputs=inputs,
            caps=output_caps(settings.budgets, inputs.batch_size if inputs else BATCH_SIZE),
        )


def check_timeout(settings: CheckSettings, macs: int, batch: int) -> float:
    """The wall-clock time a check of a model of `macs` per sample gets at `batch`: its
    forward at `settings.macs_per_s` (each side runs it once, beside the other), and never
    less than `settings.timeout_s`. A model the budgets admit is not stopped by a cap that
    ignores its size: EfficientNetB7 at 600 × 600 (37.7 G MACs a sample, 75.5 G at batch 2)
    took 274 s here, 26 s short of the 300 s it used to get, and now gets 755 s."""
    return max(settings.timeout_s, macs * batch / settings.macs_per_s)


def subclassed_check(class_name: str) -> CheckReport:
    """The check of a subclassed keras.Model: its file holds no layer graph, only what its
    Python class chose to write, so no Keras can rebuild it without that class."""
    return CheckReport(
        status="unsupported",
        code="keras-not-functional",
        message=f"The model is a subclassed keras.Model ({class_name}): its file records no "
        "layer graph, only the config its Python class wrote, so Keras cannot rebuild it "
        "without that class. The explanation covers the model its config holds.",
        details={"reason": f"subclassed model {class_name}"},
    )


def refused_check(refusals: list[Refusal]) -> CheckReport:
    """The check of a model the safety scan says must never run in Keras, with every reason."""
    first = refusals[0]
    more = f" ({len(refusals) - 1} more reason(s) in details)" if len(refusals) > 1 else ""
    return CheckReport(
        status="refused",
        code=first.code,
        message=f"Keras is not asked to load this model: {first.reason}{more}",
        details={"refusals": _REFUSALS.dump_python(refusals, mode="json")},
    )


# What to do about each budget. Layer outputs and inputs scale with the input size the model
# declares (the figures are per sample); parameters and layers do not.
_SMALLER_INPUT = (
    " Save the model with a smaller input size to check it (these figures are for one "
    "sample at the input shape it declares), or send check=false for the breakdown alone."
)
WAY_OUT = {
    "activation-budget-exceeded": _SMALLER_INPUT,
    "tensor-budget-exceeded": _SMALLER_INPUT,
    "input-budget-exceeded": _SMALLER_INPUT,
}
CHECK_FALSE = " Send check=false for the breakdown alone."


def enforce_budgets(figures: BudgetFigures, limits: BudgetLimits) -> None:
    """Raise the 422 of the first budget over its limit, with the figures and a way out,
    before anything runs: a check these budgets admit never ends on a result cap (its caps
    are the budgets at its batch, `output_caps`)."""
    try:
        check_figures(figures, limits)
    except BudgetExceeded as exc:
        exc.message += WAY_OUT.get(exc.code, CHECK_FALSE)
        raise


def output_caps(limits: BudgetLimits, batch: int) -> OutputCaps:
    """What a check admitted under `limits` may write, per side, at its batch: one layer
    output at most the tensor budget, all of them together at most the activation budget,
    each times the batch (the budgets are per sample). So a check the budgets admit never
    ends on a result cap: the caps are the budgets, at the batch the check runs."""
    from app.check.keras import OutputCaps

    return OutputCaps(
        max_file_bytes=limits.max_tensor_bytes * batch,
        max_total_bytes=limits.max_activation_bytes * batch,
    )


def _caller_inputs(
    read: ModelRead, request: CheckRequest
) -> tuple[list | None, CheckInputs | None]:
    """The caller's inputs checked against the model's, or (None, None) for seeded ones."""
    if request.inputs_path is None and request.inputs_json is None:
        return None, None
    arrays = read_caller_arrays(read.inputs, path=request.inputs_path, value=request.inputs_json)
    return caller_inputs(read.inputs, arrays)


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


def _queued(check: Check) -> CheckReport:
    return CheckReport(
        status="queued",
        message="Waiting for a Keras worker.",
        mode=check.mode,
        progress=CheckProgress(stage="queued", done=0, total=1),
        tolerance=check.tolerance,
        inputs=check.inputs,
    )
