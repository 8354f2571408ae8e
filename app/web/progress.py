"""How far a report being made has got, by a key its client chose (`progress=<key>`).

The upload page's script sends a random key with its POST and asks
`GET /api/v1/progress/{key}` while it waits for the answer:

    received    the upload is in (the body read under its caps)
    reading     the safety scan, then the layers and weights, in a throwaway process
    reporting   the breakdown, weight statistics, BatchNormalization analyses, costs
    check       the report is stored; the request waits for its check (`wait=true`)

Kept in this process's memory while the request runs, and forgotten when it answers; a key
under which nothing runs here gets `stage: null` (a 200: the page polls on without filling the
browser's console with 404s). A replica answers for its own requests only: behind a load
balancer that is not sticky, a poll that reaches another replica gets no stage, and the page
keeps saying it waits, as it does without the key.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from app.schemas import ReportProgress

# Each stage as the upload page names it while it waits, and what it does (index.html).
STAGES = {
    "received": ("Received", "the upload is in"),
    "reading": ("Reading the model", "the safety scan, then its layers and weights"),
    "reporting": (
        "Making the report",
        "parameters, weight statistics, BatchNormalization, costs",
    ),
    "check": ("The check", "waiting for the manual-vs-predict check to end"),
}
KEY_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"
MAX_TRACKED = 1_000  # requests followed at once; past that a key is not followed
Mark = Callable[[str], None]


def _unmarked(stage: str) -> None:
    """A request sent without a key: its stages go nowhere."""


@dataclass
class _Request:
    started: float
    stage: str = "received"


class Progress:
    """The stage of each report request sent with a key, while it runs."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._requests: dict[str, _Request] = {}

    @contextmanager
    def following(self, key: str | None) -> Iterator[Mark]:
        """`mark(stage)` for the request under `key` (`KEY_PATTERN`, which the route checks;
        a no-op without one), at `received` from now on; forgotten on leaving."""
        if key is None:
            yield _unmarked
            return
        with self._lock:
            followed = len(self._requests) < MAX_TRACKED
            if followed:
                self._requests[key] = _Request(self._clock(), "received")
        if not followed:
            yield _unmarked
            return
        try:
            yield lambda stage: self._mark(key, stage)
        finally:
            with self._lock:
                self._requests.pop(key, None)

    def _mark(self, key: str, stage: str) -> None:
        assert stage in STAGES, stage
        with self._lock:
            if key in self._requests:
                self._requests[key].stage = stage

    def get(self, key: str) -> ReportProgress:
        with self._lock:
            request = self._requests.get(key)
            if request is None:
                return ReportProgress(stage=None, step=0, steps=len(STAGES), seconds=None)
            stage, started = request.stage, request.started
        return ReportProgress(
            stage=stage,  # type: ignore[arg-type]
            step=list(STAGES).index(stage) + 1,
            steps=len(STAGES),
            seconds=round(self._clock() - started, 1),
        )
