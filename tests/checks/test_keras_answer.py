"""The check reads Keras' listing (outputs/layers.json) once Keras has answered, whenever the
answer came: the layers judged again on Keras' own inputs at the end find Keras' files by it
(app.check.pipeline.judge_again); without it they were left `failed`, "Keras lists no
outputs of ..." (seen on a small model about one check in five)."""

from __future__ import annotations

from concurrent.futures import Future

from app.check.pipeline import _keras_result


class _Arrivals:
    """Keras answers right after the first take, as a fast Keras worker does: its listing is
    there only for a take made after the answer."""

    def __init__(self, future: Future) -> None:
        self.future = future
        self.answered_at_take: list[bool] = []

    def take(self) -> None:
        self.answered_at_take.append(self.future.done())
        if not self.future.done():
            self.future.set_result("answer")


def test_keras_answer_is_followed_by_a_take_that_reads_its_listing():
    future: Future = Future()
    arrivals = _Arrivals(future)
    assert _keras_result(future, arrivals) == "answer"  # type: ignore[arg-type]
    assert arrivals.answered_at_take == [False, True]
