"""Marks the writer-matrix tests of a known cause (known_failures.py) as strict xfails."""

from __future__ import annotations

import pytest

from tests.writers.known_failures import known_cause

TESTS = {
    "test_report_totals_and_weights_match_the_writer": "report",
    "test_reference_gives_the_writers_predict": "reference",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        test = TESTS.get(getattr(item, "originalname", ""))
        callspec = getattr(item, "callspec", None)
        if test is None or callspec is None:
            continue
        writer, _, name = str(callspec.params["f"]).partition("/")
        if cause := known_cause(test, writer, name):
            item.add_marker(pytest.mark.xfail(strict=True, reason=cause))
