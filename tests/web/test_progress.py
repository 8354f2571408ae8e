"""The stages of a report being made, by the key its client chose (app.web.progress)."""

from __future__ import annotations

import pytest

from app.web.progress import MAX_TRACKED, Progress
from tests.support.api import make_client
from tests.support.files import saved
from tests.support.models import small_model
from tests.support.pages import fresh

KEY = "0123456789abcdef0123456789abcdef"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_followed_request_reports_its_stage_and_time_then_is_forgotten():
    clock = Clock()
    progress = Progress(clock)
    with progress.following(KEY) as mark:
        at = progress.get(KEY)
        assert (at.stage, at.step, at.steps, at.seconds) == ("received", 1, 4, 0.0)
        clock.now += 2.5
        mark("reading")
        at = progress.get(KEY)
        assert (at.stage, at.step, at.seconds) == ("reading", 2, 2.5)
        mark("reporting")
        assert progress.get(KEY).step == 3
    gone = progress.get(KEY)
    assert (gone.stage, gone.step, gone.seconds) == (None, 0, None)


def test_a_request_without_a_key_is_not_followed():
    progress = Progress()
    with progress.following(None) as mark:
        mark("reading")
    assert progress._requests == {}


def test_a_request_past_the_cap_is_not_followed_and_the_others_are_kept():
    progress = Progress()
    progress._requests = {f"{i:032d}": object() for i in range(MAX_TRACKED)}
    with progress.following(KEY) as mark:
        mark("reading")
        assert progress.get(KEY).stage is None
    assert len(progress._requests) == MAX_TRACKED


def test_a_request_that_fails_is_forgotten_too():
    progress = Progress()
    with pytest.raises(RuntimeError), progress.following(KEY):
        raise RuntimeError
    assert progress.get(KEY).stage is None


def test_progress_route_answers_no_stage_for_a_key_nothing_runs_under(tmp_path):
    with make_client(tmp_path) as client:
        response = client.get(f"/api/v1/progress/{KEY}")
    assert response.status_code == 200
    assert response.json() == {"stage": None, "step": 0, "steps": 4, "seconds": None}


def test_report_with_a_malformed_progress_key_is_refused_before_its_body_is_read(tmp_path):
    with make_client(tmp_path) as client:
        response = client.post("/api/v1/reports?progress=short", json={"spec": {}})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid-request"
    assert body["details"]["problems"][0]["parameter"] == "progress"
    assert "16,64" in body["message"]


def test_report_sent_with_a_progress_key_marks_its_stages_in_order(client, tmp_path, monkeypatch):
    seen = []
    original = Progress._mark

    def recording(self, key, stage):
        seen.append((key, stage, self.get(key).stage))
        original(self, key, stage)

    monkeypatch.setattr(Progress, "_mark", recording)
    path = saved(fresh(small_model), tmp_path / "m.keras")
    sent = {"files": {"file": ("m.keras", path.read_bytes())}, "data": {"check": "false"}}
    response = client.post(f"/api/v1/reports?progress={KEY}", **sent)
    assert response.status_code == 201
    # Followed from the upload on (received), then the two stages a new report goes through.
    assert seen == [(KEY, "reading", "received"), (KEY, "reporting", "reading")]
    assert client.get(f"/api/v1/progress/{KEY}").json()["stage"] is None  # answered: gone
    seen.clear()
    again = client.post(f"/api/v1/reports?progress={KEY}", **sent)
    assert again.status_code == 200  # found in the store: nothing read
    assert seen == []
