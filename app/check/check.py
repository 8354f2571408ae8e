"""`Check`: what one check is given (its folder, plan, mode, budgets) and where it stands
(stored, abandoned, ended), shared by the runner, the queue and the check's own thread
(app.check.pipeline)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.check.folder import CheckFolder, Kind
from app.check.keras import OutputCaps
from app.check.plan import CheckPlan
from app.schemas import CheckInputs, KerasCall


@dataclass
class Check:
    """Everything one check needs; `folder` belongs to it and holds the model."""

    report_id: str
    folder: CheckFolder
    kind: Kind
    format: str
    plan: CheckPlan
    mode: str
    seed: int
    tolerance: float
    timeout_s: float
    keras_call: KerasCall | None = None  # how Keras runs it; None: the worker's choice
    inputs: CheckInputs | None = None  # set once inputs.npz is written: how they were made
    # What each side may write: the budgets that admitted it, at its batch (app.check.
    # admission); None: the pool's own caps.
    caps: OutputCaps | None = None
    created: float = field(default_factory=time.monotonic)
    # A check starts once the model is read, before its report is stored: it publishes
    # nothing until `stored` is set, and nothing at all once `abandoned` (no report came).
    stored: threading.Event = field(default_factory=threading.Event)
    abandoned: bool = False
    ended: bool = False  # its final report is written: nothing may take its place
    _ending: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def model_path(self) -> Path:
        return self.folder.model(self.kind)

    def mark_stored(self) -> None:
        self.stored.set()

    def abandon(self) -> None:
        self.abandoned = True
        self.stored.set()

    def end(self, write_final: Callable[[], None]) -> bool:
        """`write_final()` unless the check is abandoned; whether it was written. A cancel
        (`abandon_unless_ended`) comes wholly before or wholly after it."""
        with self._ending:
            if self.abandoned:
                return False
            write_final()
            self.ended = True
            return True

    def abandon_unless_ended(self) -> bool:
        """Abandon the check unless its final report is written or it is abandoned already;
        whether it was abandoned now."""
        with self._ending:
            if self.ended or self.abandoned:
                return False
            self.abandon()
            return True
