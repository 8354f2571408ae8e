"""Tasks standing for a throwaway process that a hostile file took over (app.isolation).

A child imports this module to run them: it imports no Keras (the child's memory is capped).
"""

from __future__ import annotations

import gc
import time

from app import isolation
from app.explain import explain_task


@isolation.task
def sends_the_model_read_twice(path, limits, early, **arguments):
    """The explanation, sending its model read twice."""

    def twice(answer):
        early(answer)
        early(answer)

    return explain_task(path, limits, twice, **arguments)


@isolation.task
def answers_in_the_usual_order(path, limits, early, read_last, **arguments):
    """The explanation, its model read first even when the report is asked for first."""
    return explain_task(path, limits, early, read_last=False, **arguments)


@isolation.task
def waits(path, limits, early, seconds: float):
    """A child that waits its turn (as on a busy machine): the clock passes, its processor
    time does not."""
    time.sleep(seconds)
    return {"waited": seconds}


@isolation.task
def spins(path, limits, early, seconds: float):
    """A child that burns the processor for `seconds` of the clock (a libhdf5 loop)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return {"spun": seconds}


@isolation.task
def tells_its_garbage_collector(path, limits, early):
    """Not hostile: what the child's garbage collector does (on, and how much is frozen)."""
    return {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
