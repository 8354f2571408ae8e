"""The domain entry points shared by the web routes and the CLI: one code path.

Explaining a model has two moments:

    the model is read      its `Gate`: the scan's refusals, the budget figures, the inputs and
                           the check's plan. Enough to decide on a check and to start it.
    the report is made     every weight's statistics, the BatchNormalization analyses, ...
                           (for ResNet50, as long again as reading it)

`on_gate` is called at the first moment, so a check can start while the report is still
being made (app.reports); an `Explanation` is the report with its gate.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from app.analysis.budgets import BudgetFigures, measure
from app.analysis.check_plan import CheckPlan, plan_check
from app.analysis.report import build_report, model_info
from app.analysis.resolve import resolve
from app.errors import UnreadableFile
from app.formats import IntakeLimits, LoadedModel, Refusal, read_model, read_spec, sniff_path
from app.intake.limits import DEFAULT_LIMITS
from app.intake.rehearsal import run_task
from app.schemas import InputInfo, Report, Source

HASH_CHUNK = 1 << 20
_INPUTS = TypeAdapter(list[InputInfo])


@dataclass
class Gate:
    """What deciding on a check, and running it, needs: known once the model is read."""

    format: str
    refusals: list[Refusal]
    figures: BudgetFigures
    inputs: list[InputInfo]  # the model's Inputs, which a caller's inputs must fit
    plan: CheckPlan

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "refusals": [r.to_dict() for r in self.refusals],
            "figures": self.figures.as_dict(),
            "inputs": _INPUTS.dump_json(self.inputs).decode(),
            "plan": self.plan.model_dump_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Gate:
        """Rebuilt from `to_json`, every field validated (it comes from another process)."""
        return cls(
            format=str(data["format"]),
            refusals=[Refusal.from_dict(r) for r in data["refusals"]],
            figures=BudgetFigures.from_dict(data["figures"]),
            inputs=_INPUTS.validate_json(data["inputs"]),
            plan=CheckPlan.model_validate_json(data["plan"]),
        )


OnGate = Callable[[Gate], None]


@dataclass
class Explanation:
    report: Report
    gate: Gate


def explain_file(
    path: Path,
    filename: str | None = None,
    digest: tuple[str, int] | None = None,
    limits: IntakeLimits = DEFAULT_LIMITS,
    report_id: str | None = None,
    on_gate: OnGate | None = None,
) -> Explanation:
    """Explain a model file (.keras, legacy HDF5 or spec JSON; the format comes from the bytes).

    `digest` is the file's (sha256, size) when the caller already has it. A file that holds
    HDF5 is explained in a throwaway process (app.intake.rehearsal): the serving process
    never opens it with libhdf5. The process sends the gate as soon as it has it, then the
    report (as pydantic's JSON text: several times faster than `json` with the report's
    numbers, 25 ms against 76 for ResNet50's).
    """
    digest = digest or file_digest(path)
    report_id = report_id or new_report_id()
    if not limits.rehearse_hdf5 or sniff_path(path) == "spec_json":
        return explain_in_process(path, limits, filename, digest, report_id, on_gate)
    gates: list[Gate] = []

    def early(data: dict[str, Any]) -> None:
        if gates:  # one gate per file; only a process a hostile file took over sends more
            raise UnreadableFile("Reading this file did not complete; it is refused.")
        gates.append(_from_child(Gate.from_json, data))
        if on_gate is not None:
            on_gate(gates[0])

    answer = run_task(
        "explain",
        path,
        limits,
        on_early=early,
        filename=filename,
        digest=list(digest),
        report_id=report_id,
    )
    if len(gates) != 1:
        raise UnreadableFile("Reading this file did not complete; it is refused.")
    return Explanation(
        _from_child(lambda a: Report.model_validate_json(a["report"]), answer), gates[0]
    )


def _from_child(read: Callable[[Any], Any], data: Any) -> Any:
    """`read(data)`, for what the throwaway process sent: what does not validate is refused
    (only a process a hostile file took over would send it)."""
    try:
        return read(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise UnreadableFile("Reading this file did not complete; it is refused.") from exc


def explain_task(
    path: Path,
    limits: IntakeLimits,
    early: Callable[[dict[str, Any]], None],
    filename: str | None,
    digest: list,
    report_id: str,
) -> dict[str, Any]:
    """The "explain" task of app.intake.rehearsal, run in its child."""
    explanation = explain_in_process(
        path,
        limits,
        filename,
        (digest[0], digest[1]),
        report_id,
        on_gate=lambda gate: early(gate.to_json()),
    )
    return {"report": explanation.report.model_dump_json()}


def explain_in_process(
    path: Path,
    limits: IntakeLimits,
    filename: str | None,
    digest: tuple[str, int],
    report_id: str,
    on_gate: OnGate | None = None,
) -> Explanation:
    with read_model(path, limits) as loaded:
        return _explain(loaded, digest[0], digest[1], filename, report_id, on_gate)


def explain_spec(
    spec: dict[str, Any] | str, report_id: str | None = None, on_gate: OnGate | None = None
) -> Explanation:
    """Explain the JSON that model.to_json() writes, given as an object or a string."""
    raw = (spec if isinstance(spec, str) else json.dumps(spec, sort_keys=True)).encode()
    with read_spec(spec) as loaded:
        digest = hashlib.sha256(raw).hexdigest()
        return _explain(loaded, digest, len(raw), None, report_id or new_report_id(), on_gate)


def _explain(
    loaded: LoadedModel,
    digest: str,
    size: int,
    filename: str | None,
    report_id: str,
    on_gate: OnGate | None,
) -> Explanation:
    graph = loaded.graph
    resolve(graph, weights_in_file=loaded.format != "spec_json")
    inputs = model_info(graph).inputs
    gate = Gate(loaded.format, loaded.refusals, measure(graph), inputs, plan_check(graph))
    if on_gate is not None:
        on_gate(gate)
    source = Source(
        format=loaded.format,
        sha256=digest,
        size=size,
        keras_version=loaded.keras_version,
        backend=loaded.backend,
        filename=filename,
    )
    return Explanation(build_report(graph, source, report_id), gate)


def new_report_id() -> str:
    return uuid.uuid4().hex


def file_digest(path: Path) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size
