"""Property tests of specs posted to the API (hypothesis; tests/support/spec_strategies.py):
whatever a spec's fields hold, the answer is a report or a 4xx with a stable code — never a
5xx — and its page renders; a spec whose fields keep their types is never refused by the
field check. Derandomized and bounded, so CI runs the same cases each time in well under a
minute; bench/fuzz_specs.py runs the same strategies for as long as it is asked to."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from app.errors import ExplainerError
from app.layers import fields
from app.layers.registry import REGISTRY
from tests.support.api import make_client
from tests.support.spec_strategies import mutated_specs, redrawn_specs, valid_values

CODES = {cls.code for cls in (ExplainerError, *ExplainerError.__subclasses__())}
BOUNDED = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,  # a spec's first explanation warms caches; the bound is the module's
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with make_client(tmp_path_factory.mktemp("props")) as client:
        yield client


def answer(client, spec) -> tuple[int, dict]:
    """POST the spec (check asked for: the budgets and the plan run; no workers), then GET
    its page when it made a report."""
    response = client.post("/api/v1/reports", json={"spec": spec})
    body = response.json()
    if response.status_code in (200, 201):
        page = client.get(f"/reports/{body['id']}", headers={"Accept": "text/html"})
        assert page.status_code == 200, page.text[:500]
    return response.status_code, body


def assert_clean(status: int, body: dict, edits: list[str]) -> None:
    assert status < 500, (edits, body)
    if status >= 400:
        assert isinstance(body.get("code"), str) and body["code"] != "internal-error", body
        assert body.get("message"), body


@BOUNDED
@given(case=mutated_specs())
def test_a_mutated_spec_gets_a_report_or_a_4xx_with_a_code(client, case):
    spec, edits = case
    status, body = answer(client, spec)
    assert_clean(status, body, edits)


@settings(BOUNDED, max_examples=60)
@given(case=redrawn_specs())
def test_a_spec_with_well_typed_fields_is_never_refused_by_the_field_check(client, case):
    spec, edits = case
    status, body = answer(client, spec)
    assert_clean(status, body, edits)
    assert "problems" not in (body.get("details") or {}), (edits, body["message"])


def test_every_field_a_class_reads_has_values_the_strategies_draw():
    """A new field type gets a strategy, so the property tests redraw it (a nested layer is
    redrawn through its own fields)."""
    declared = [field for entry in REGISTRY.values() for field in entry.fields.values()]
    every = [*fields.VOCABULARY.values(), *fields.KERAS1_VOCABULARY.values(), *declared]
    missing = {f.expected for f in every if not f.nested and valid_values(f) is None}
    assert missing == set()
