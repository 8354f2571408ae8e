"""What a queue worker needs to run a check that an API replica admitted: the check's plain
fields, written as JSON beside the model in the check's folder (in the shared folder).

JSON, never pickle: the folder is shared between hosts, and a ticket is data, not code.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from app.check.check import Check
from app.check.folder import CheckFolder, Kind
from app.check.keras.jobs import OutputCaps
from app.check.plan import CheckPlan
from app.schemas import CheckInputs, KerasCall

TICKET = "ticket.json"
# What the replica put in the folder; the rest is an attempt's own work.
KEPT_ON_RETRY = frozenset({TICKET, CheckFolder.MODEL, CheckFolder.SPEC, CheckFolder.INPUTS})


class CheckTicket(BaseModel):
    model_config = ConfigDict(extra="forbid")

    report_id: str
    kind: Kind
    format: str
    plan: CheckPlan
    mode: str
    seed: int
    tolerance: float
    timeout_s: float
    keras_call: KerasCall | None = None
    inputs: CheckInputs | None = None
    max_file_bytes: int | None = None
    max_total_bytes: int | None = None


def write_ticket(check: Check) -> None:
    caps = check.caps
    ticket = CheckTicket(
        report_id=check.report_id,
        kind=check.kind,
        format=check.format,
        plan=check.plan,
        mode=check.mode,
        seed=check.seed,
        tolerance=check.tolerance,
        timeout_s=check.timeout_s,
        keras_call=check.keras_call,
        inputs=check.inputs,
        max_file_bytes=caps.max_file_bytes if caps else None,
        max_total_bytes=caps.max_total_bytes if caps else None,
    )
    (check.folder.path / TICKET).write_text(ticket.model_dump_json())


def read_ticket(folder: Path) -> Check:
    """The check whose folder this is, as the replica that admitted it made it."""
    ticket = CheckTicket.model_validate_json((folder / TICKET).read_text())
    caps = None
    if ticket.max_file_bytes is not None and ticket.max_total_bytes is not None:
        caps = OutputCaps(ticket.max_file_bytes, ticket.max_total_bytes)
    return Check(
        report_id=ticket.report_id,
        folder=CheckFolder(folder),
        kind=ticket.kind,
        format=ticket.format,
        plan=ticket.plan,
        mode=ticket.mode,
        seed=ticket.seed,
        tolerance=ticket.tolerance,
        timeout_s=ticket.timeout_s,
        keras_call=ticket.keras_call,
        inputs=ticket.inputs,
        caps=caps,
    )
