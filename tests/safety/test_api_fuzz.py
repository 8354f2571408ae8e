"""Schemathesis against the app's own OpenAPI document, and mutated model files uploaded,
both against a real server: no 5xx, no answer slower than RESPONSE_LIMIT_S, the server's peak
memory growing by less than MEMORY_LIMIT_MB over the whole run, and the server still serving.
bench/fuzz_api.py runs the same for as many minutes as asked."""

from __future__ import annotations

import httpx2
import pytest

from tests.support.api_fuzz import fuzz_api, fuzz_files
from tests.support.fuzzing import original_files
from tests.support.live import memory_kb, reset_peak, serving

pytestmark = pytest.mark.slow  # about a minute in all

EXAMPLES = 40  # per operation and round: 2 rounds (valid data, then invalid) of 4 operations
MUTANTS = 15  # per original file: 4 originals
RESPONSE_LIMIT_S = 10.0  # a hung HDF5 read would take the 60 s reading timeout
MEMORY_LIMIT_MB = 50


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("data"), workers=0) as live:
        yield live


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    return original_files(tmp_path_factory.mktemp("originals"))


def measured(server, run):
    """The outcome of `run()` and the server's peak growth meanwhile, in MB."""
    before = memory_kb(server.pid)
    reset_peak(server.pid)
    outcome = run()
    return outcome, (memory_kb(server.pid, "VmHWM") - before) / 1024


def assert_sound(server, outcome, growth_mb):
    assert outcome.server_errors == []
    assert outcome.slowest_s < RESPONSE_LIMIT_S, outcome.slowest
    assert growth_mb < MEMORY_LIMIT_MB
    assert httpx2.get(f"{server.base}/api/v1/health", timeout=10).status_code == 200


def test_schemathesis_finds_no_server_error(server):
    outcome, growth_mb = measured(
        server, lambda: fuzz_api(server.base, examples=EXAMPLES, rounds=2)
    )
    assert_sound(server, outcome, growth_mb)
    assert outcome.cases >= 4 * EXAMPLES  # every operation was reached, in both modes
    statuses = {status for _, status in outcome.statuses}
    assert {200, 400, 404} <= statuses  # the runs reach past validation, and fail it


def test_mutated_model_files_uploaded_end_in_a_report_or_a_4xx(server, originals):
    run = lambda: fuzz_files(server.base, originals, mutants=MUTANTS)  # noqa: E731
    outcome, growth_mb = measured(server, run)
    assert_sound(server, outcome, growth_mb)
    assert outcome.cases == 4 * MUTANTS
    statuses = {status for _, status in outcome.statuses}
    assert 201 in statuses and 400 in statuses  # the mutants reach both ends
