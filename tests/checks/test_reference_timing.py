"""The check's `timing.reference_s` is our forward's own time: what its process spends between
layer calls answering the comparison's questions (layers run again on Keras' inputs) or
waiting for the comparison to take files is left out.

The reference side runs here in this process, on a small model, with a clock that moves only
when the test moves it: each answer to the comparison, or each wait for room, takes 100 of
its seconds, the forward none, so the figure is exactly 0 when that time is left out and
100 × the layer calls when it is not."""

from __future__ import annotations

import numpy as np

from app.check import reference_side
from app.check.folder import CheckFolder
from app.check.reference_side import ReferenceRequest, run
from app.check.rejudge_side import Judge
from app.check.streaming import Room
from tests.support.files import saved
from tests.support.models import small_model

ANSWERING_S = 100.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def streamed_request(tmp_path) -> tuple[ReferenceRequest, CheckFolder]:
    """A check of Input((6,)) → Dense → BatchNormalization → Dense whose comparison takes
    layers as the forward writes them (a window of layer outputs)."""
    path = saved(small_model(), tmp_path / "m.keras")
    folder = CheckFolder(tmp_path / "check")
    folder.path.mkdir()
    np.savez(folder.inputs, x0=np.ones((2, 6), np.float32))
    request = ReferenceRequest(
        folder=str(folder.path),
        model_path=str(path),
        kind="file",
        format="keras_v3",
        mode="inference",
        seed=0,
        window_bytes=1 << 30,
    )
    return request, folder


def test_reference_s_leaves_out_the_time_spent_answering_the_comparison(tmp_path, monkeypatch):
    request, folder = streamed_request(tmp_path)
    clock = Clock()
    monkeypatch.setattr(reference_side.time, "perf_counter", clock)
    answered = []

    def serve(judge: Judge) -> None:
        answered.append(clock.now)
        clock.now += ANSWERING_S

    monkeypatch.setattr(Judge, "serve", serve)
    result, judge = run(request, folder)
    assert result.status == "ok", result.message
    assert judge is not None and answered == [0.0, 100.0, 200.0]  # before each layer's call
    assert result.reference_s == 0.0


def test_reference_s_leaves_out_the_time_spent_waiting_for_room(tmp_path, monkeypatch):
    request, folder = streamed_request(tmp_path)
    clock = Clock()
    monkeypatch.setattr(reference_side.time, "perf_counter", clock)
    monkeypatch.setattr(Judge, "serve", lambda judge: None)
    waited = []

    def wait(room: Room, size: int, go_on, on_wait) -> None:
        waited.append(size)
        clock.now += ANSWERING_S

    monkeypatch.setattr(Room, "wait", wait)
    result, _ = run(request, folder)
    assert result.status == "ok", result.message
    assert waited == [2 * 5 * 4, 2 * 5 * 4, 2 * 3 * 4]  # batch 2, float32: Dense(5), BN, Dense(3)
    assert result.reference_s == 0.0
