"""`Comparisons`: two sides, each through the reports' own intake, then their comparison.

A side is a model file (uploaded) or the id of a report whose model file the server kept.
A file becomes a report exactly as `POST /api/v1/reports` makes one (app.reports: the same
size caps, safety scan, readers and store, content-addressed: the same bytes give the same
report), so each side has a report to link to and a refused file is refused with the code it
gets there, its side named. Then both files are compared in one throwaway process
(app.compare.task) and the comparison is stored. The same two reports compared again are
answered from the store.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from app import __version__
from app.compare.schemas import Comparison, Side
from app.compare.store import ComparisonStore
from app.compare.task import SideFile, compare_files, named
from app.errors import ComparisonNotFound, InvalidRequest, ModelNotKept
from app.reports import Options, Reports, Submission
from app.safety.limits import DEFAULT_LIMITS, ReadLimits
from app.schemas import Report


@dataclass(frozen=True)
class SideAsk:
    """What a caller sent for one side: a file, or a report's id."""

    path: Path | None = None
    filename: str | None = None
    digest: tuple[str, int] | None = None
    report_id: str | None = None

    def validate(self, side: Side) -> None:
        if (self.path is None) == (self.report_id is None):
            raise InvalidRequest(
                f"Send model {side} as a file (field `{side}`) or as a report's id (the "
                f"field `{side}` as text), not {'both' if self.path else 'neither'}.",
                {"side": side},
            )


class Comparisons:
    def __init__(
        self,
        store: ComparisonStore,
        reports: Reports,
        uploads_dir: Path | None = None,
        limits: ReadLimits = DEFAULT_LIMITS,
    ) -> None:
        self.store, self.reports = store, reports
        self.uploads_dir, self.limits = uploads_dir, limits

    def create(
        self, a: SideAsk, b: SideAsk, check: bool = False, recompute: bool = False
    ) -> tuple[Comparison, bool]:
        """The comparison of a and b, and whether it was made now (False: from the store)."""
        a.validate("a")
        b.validate("b")
        side_a = self._side("a", a, check)
        side_b = self._side("b", b, check)
        key = content_key(side_a, side_b)
        stored = None if recompute else self.store.find(key)
        if stored is not None:
            return stored, False
        comparison = compare_files(side_a, side_b, self.limits)
        self.store.add(comparison, key)
        return comparison, True

    def get(self, comparison_id: str) -> Comparison:
        comparison = self.store.get(comparison_id)
        if comparison is None:
            raise ComparisonNotFound(
                "No comparison has this id. Comparisons are kept for a limited time; compare "
                "the two models again to make a new one.",
                {"id": comparison_id[:64]},
            )
        return comparison

    def _side(self, side: Side, ask: SideAsk, check: bool) -> SideFile:
        with named(side):
            if ask.report_id is not None:
                return self._kept(side, self.reports.get(ask.report_id))
            assert ask.path is not None
            submission = Submission(model_path=ask.path, filename=ask.filename, digest=ask.digest)
            report, _ = self.reports.create(submission, Options(check=check))
            return _side_file(report, ask.path)

    def _kept(self, side: Side, report: Report) -> SideFile:
        kept = self.uploads_dir / report.id if self.uploads_dir is not None else None
        if kept is None or not kept.is_file():
            raise ModelNotKept(
                f"This server does not keep the model file of report {report.id[:32]}: send "
                f"the file itself as `{side}`.",
                {"report_id": report.id},
            )
        return _side_file(report, kept)


def _side_file(report: Report, path: Path) -> SideFile:
    source = report.source
    return SideFile(path, source.filename, (source.sha256, source.size), report.id)


def content_key(a: SideFile, b: SideFile) -> str:
    """Both reports (content-addressed themselves) and this version of the explainer."""
    parts = {"version": __version__, "a": a.report_id, "b": b.report_id}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
