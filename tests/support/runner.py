"""Checks for the publisher's and the check runner's tests (the `runner` fixture of
tests/checks/conftest.py ends every check at once with `PASSED`)."""

from __future__ import annotations

from pathlib import Path

from app.check.check import Check
from app.check.compare import ComparedModel
from app.check.folder import CheckFolder
from app.check.plan import CheckPlan
from app.schemas import CheckReport

PASSED = CheckReport(status="passed", message="Every layer matches Keras.", tolerance=1e-4)


def job() -> Check:
    """A check of nothing (no folder on disk, no layers): what the publisher's and the
    runner's tests need of one."""
    return Check(
        report_id="r1",
        folder=CheckFolder(Path("/nonexistent")),
        kind="file",
        format="keras_v3",
        plan=CheckPlan(inputs=[], compared=ComparedModel(layers=[], outputs=[])),
        mode="inference",
        seed=0,
        tolerance=1e-4,
        timeout_s=60,
    )


def runner_job(tmp_path: Path) -> Check:
    """A check with a folder of its own under `tmp_path`."""
    the_job = job()
    the_job.folder = CheckFolder(tmp_path / "check")
    the_job.folder.path.mkdir()
    return the_job
