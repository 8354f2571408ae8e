"""The store as a queue worker's checks see it: each check writes only while its attempt is
the report's latest. A worker that lost its job (killed, or cut off long enough for the job
to be retried elsewhere) may still write late; those writes are dropped, never applied over
the newer attempt's."""

from __future__ import annotations

import logging
import threading

from app.schemas import CheckReport, Report
from app.store.contract import Job, ReportJson
from app.store.postgres import PostgresReportStore

logger = logging.getLogger(__name__)


class FencedStore:
    """The `ReportStore` a worker's check runner writes to, fenced per report by attempt."""

    def __init__(self, store: PostgresReportStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._attempts: dict[str, int] = {}

    def begin(self, report_id: str) -> int | None:
        """A new attempt at the report's check (None: the report is gone)."""
        attempt = self.store.claim_attempt(report_id)
        if attempt is not None:
            with self._lock:
                self._attempts[report_id] = attempt
        return attempt

    def end(self, report_id: str) -> None:
        with self._lock:
            self._attempts.pop(report_id, None)

    def set_check(self, report_id: str, check: CheckReport) -> None:
        with self._lock:
            attempt = self._attempts.get(report_id)
        if attempt is None or not self.store.set_check_fenced(report_id, check, attempt):
            logger.warning(
                "attempt %s at the check of report %s is not the latest: its write is dropped",
                attempt,
                report_id,
            )

    def get(self, report_id: str) -> Report | None:
        return self.store.get(report_id)

    def get_check(self, report_id: str) -> CheckReport | None:
        return self.store.get_check(report_id)

    def find(self, content_key: str) -> Report | None:
        return self.store.find(content_key)

    def add(
        self,
        report: Report,
        content_key: str | None = None,
        job: Job | None = None,
        dumped: ReportJson | None = None,
    ) -> None:
        raise TypeError("a queue worker never adds reports")

    def remove(self, report_id: str) -> None:
        raise TypeError("a queue worker never removes reports")

    def prune(self, max_age_s: float, max_bytes: int) -> int:
        raise TypeError("a queue worker never prunes the store")

    def get_drawing(self, report_id: str, version: str) -> bytes | None:
        return self.store.get_drawing(report_id, version)

    def set_drawing(self, report_id: str, version: str, body: bytes) -> None:
        self.store.set_drawing(report_id, version, body)

    def close(self) -> None:
        self.store.close()
