"""Keeps the report store within its age and size: at start, then every EVERY_S seconds,
on a daemon thread that stops with the app."""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path
from typing import Protocol

from app.store import ReportStore

logger = logging.getLogger(__name__)

EVERY_S = 600.0
DAY_S = 86_400.0


class Prunable(Protocol):
    def prune(self, max_age_s: float, max_bytes: int) -> int: ...


class Retention:
    def __init__(
        self,
        store: ReportStore,
        retention_days: float,
        max_bytes: int,
        exports_dir: Path | None = None,
    ) -> None:
        self.store, self.max_age_s, self.max_bytes = store, retention_days * DAY_S, max_bytes
        self.exports_dir = exports_dir  # the programs checks wrote, kept with their reports
        self._others: list[Prunable] = []  # kept within the same age and size (comparisons)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="retention", daemon=True)

    def also(self, store: Prunable) -> None:
        """Keep `store` within the same age and size as well."""
        self._others.append(store)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def prune_once(self) -> int:
        deleted = self.store.prune(self.max_age_s, self.max_bytes)
        for other in self._others:
            other.prune(self.max_age_s, self.max_bytes)
        if self.exports_dir is not None:  # a deleted report's program goes with it
            prune_exports(self.exports_dir, self.store)
        if deleted:
            logger.info("retention: %d report(s) deleted", deleted)
        return deleted

    def _loop(self) -> None:
        while True:
            try:
                self.prune_once()
            except Exception:  # a locked or full disk must not end the loop
                logger.exception("retention: pruning failed")
            if self._stop.wait(EVERY_S):
                return


def prune_exports(exports_dir: Path, store: ReportStore) -> int:
    """Remove the kept programs (`exports_dir/<report id>`, app.export.bundle.export_folder)
    whose report the store no longer has."""
    if not exports_dir.is_dir():
        return 0
    removed = 0
    for folder in exports_dir.iterdir():
        if store.get_check(folder.name) is None:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
