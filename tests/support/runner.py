"""A check for the check runner's tests (the `runner` fixture of tests/checks/conftest.py),
which ends at once with `PASSED`."""

from __future__ import annotations

from pathlib import Path

from app.check.folder import CheckFolder
from app.check.pipeline import Check
from app.schemas import CheckReport
from tests.checks.test_publisher import job

PASSED = CheckReport(status="passed", message="Every layer matches Keras.", tolerance=1e-4)


def runner_job(tmp_path: Path) -> Check:
    """A check with a folder of its own under `tmp_path`."""
    the_job = job()
    the_job.folder = CheckFolder(tmp_path / "check")
    the_job.folder.path.mkdir()
    return the_job
