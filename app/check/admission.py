"""Admission: whether a check runs, and if so its folder, inputs and place, as a value.

Once the model is read (`ModelRead`), `Admission.prepare` decides: not asked for, no
workers, refused by the safety scan (each a `CheckReport` that says why), over a budget
(422, nothing stored), busy (503), or admitted: its folder is made, the model placed in it,
the caller's inputs checked and written. The answer is a `PreparedCheck` that the caller
(app.reports) drives in order:

    prepared.start()        the check runs while the report is still being made
    prepared.report         the `CheckReport` to store with the report ("queued", or why not)
    prepared.mark_stored()  the report is stored: the check may now write to the store
    prepared.abandon()      the report failed: the check ends on its own, writing nothing
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import TypeAdapter

from app.check.budgets import DEFAULT_BUDGETS, BudgetFigures, BudgetLimits, check_figures
from app.check.inputs import caller_inputs, read_caller_arrays
from app.check.keras import write_arrays
from app.check.model_read import ModelRead
from app.check.pipeline import Check
from app.check.runner import CheckRunner
from app.errors import BudgetExceeded
from app.safety.refusals import Refusal
from app.schemas import CheckInputs, CheckProgress, CheckReport

Mode = Literal["inference", "training"]
_REFUSALS = TypeAdapter(list[Refusal])


@dataclass(frozen=True)
class CheckSettings:
    """How checks run: the numbers that come from Settings, passed in (not read here)."""

    tolerance: float = 1e-4
    seed: int = 0
    timeout_s: float = 300.0
    budgets: BudgetLimits = DEFAULT_BUDGETS


@dataclass(frozen=True)
class CheckRequest:
    """What the caller asked of the check, and the model and inputs as it gave them."""

    asked: bool
    mode: Mode
    model_path: Path | None = None  # a file; else `spec`
    spec: Any = None
    owned: bool = True  # the file is ours (an upload): it may be linked into the check's folder
    inputs_path: Path | None = None
    inputs_json: Any = None


@dataclass
class PreparedCheck:
    """A check decided on: its `report` to store, and the check itself when it runs."""

    report: CheckReport
    check: Check | None = None
    runner: CheckRunner | None = None

    def start(self) -> None:
        """Start the check (nothing to do when it does not run)."""
        if self.check is None:
            return
        assert self.runner is not None
        try:
            self.runner.start(self.check)
        except BaseException:
            self.runner.release()
            shutil.rmtree(self.check.folder.path, ignore_errors=True)
            raise

    def mark_stored(self) -> None:
        if self.check is not None:
            self.check.mark_stored()

    def abandon(self) -> None:
        if self.check is not None:
            self.check.abandon()  # it ends on its own, publishing nothing


class Admission:
    """Decides on checks and prepares the ones that run."""

    def __init__(self, runner: CheckRunner | None, settings: CheckSettings | None = None):
        self.runner = runner
        self.settings = settings or CheckSettings()

    def prepare(self, read: ModelRead, report_id: str, request: CheckRequest) -> PreparedCheck:
        """Why the check does not run, or the check, queued. A model over the budgets for
        running it is refused outright (422, nothing stored) when the check is asked for."""
        refusal = self._refusal(read, request)
        if refusal is not None:
            return PreparedCheck(refusal)
        enforce_budgets(read.figures, self.settings.budgets)
        arrays, inputs = _caller_inputs(read, request)
        assert self.runner is not None
        self.runner.admit()
        try:
            check = self._check(read, report_id, request, inputs)
            if arrays is not None:
                write_arrays(check.folder.inputs, "x", arrays)
        except BaseException:
            self.runner.release()
            raise
        return PreparedCheck(_queued(check), check, self.runner)

    def _refusal(self, read: ModelRead, request: CheckRequest) -> CheckReport | None:
        if not request.asked:
            return CheckReport(status="not_run", message="Not asked for (check=false).")
        if self.runner is None:
            return CheckReport(
                status="not_run",
                code="no-workers",
                message="This service runs no Keras workers (KEX_WORKERS=0), so it cannot "
                "run the check.",
            )
        if read.refusals:
            return refused_check(read.refusals)
        return None

    def _check(
        self, read: ModelRead, report_id: str, request: CheckRequest, inputs: CheckInputs | None
    ) -> Check:
        assert self.runner is not None
        folder = self.runner.new_folder()
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
        details={"refusals": _REFUSALS.dump_python(refusals, mode="json")},
    )


def enforce_budgets(figures: BudgetFigures, limits: BudgetLimits) -> None:
    """Raise the 422 of the first budget over its limit, with the figures and a way out."""
    try:
        check_figures(figures, limits)
    except BudgetExceeded as exc:
        exc.message += " Send check=false for the breakdown alone."
        raise


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
