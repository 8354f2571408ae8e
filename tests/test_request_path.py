"""Issue 10's walk: one `POST /api/v1/reports` of a `.keras` file with check=true, followed
through the code by bench/trace_request.py's tracer, enters each module at most twice and
never climbs back up a layer.

The request runs as the upload route hands it to `Reports.create` (in this thread, the file
read here: `isolate_hdf5` off), with a check runner that admits, places and starts the check
as the server's does; only the check's own thread, which the tracer does not follow anyway,
does nothing (no Keras worker is needed). A quarter of a second under the tracer.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from app.check.check import Check
from app.check.runner import CheckRunner
from app.reports import Reports
from app.safety.limits import DEFAULT_LIMITS
from app.schemas import CheckReport
from app.store import SqliteReportStore
from bench.trace_request import MAX_ENTRIES, Tracer, follow

# A .keras archive and a legacy .h5 file: the two readers' ways through the scan.
MODELS = ["leyuzak_mnist_cnn_bn.keras", "hls4ml_keras_3layer_batch_norm.h5"]


class _IdleRunner(CheckRunner):
    """The server's runner, whose check thread does nothing (no Keras worker to run it)."""

    def _run(self, check: Check) -> CheckReport:
        return CheckReport(status="not_run", message="Not run: a test of the request's path.")


@pytest.fixture(scope="module", params=MODELS)
def traced(request, corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Tracer:
    folder = tmp_path_factory.mktemp("request-path")
    store = SqliteReportStore(folder / "reports.db")
    runner = _IdleRunner(None, store, folder / "checks", max_active=1)  # type: ignore[arg-type]
    limits = replace(DEFAULT_LIMITS, isolate_hdf5=False)
    try:
        return follow(Reports(store, runner, limits=limits), corpus / request.param)
    finally:
        runner.stop()


def test_the_request_goes_the_whole_way_to_a_stored_report_with_its_check_started(traced):
    entered = traced.counts()
    assert ("reports", "(start)") in traced.entries
    for module in ("explain", "formats", "analysis.report", "check.admission", "check.runner"):
        assert entered[module] >= 1, module
    assert ("store.sqlite", "reports.Reports.create") in traced.entries  # the report stored


def test_the_request_enters_each_module_at_most_twice(traced):
    over = {module: n for module, n in traced.counts().items() if n > MAX_ENTRIES}
    assert over == {}


def test_the_request_never_climbs_back_up_a_layer(traced):
    assert traced.climbs == []
