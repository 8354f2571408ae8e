"""The reference process kept ready for the next check."""

from __future__ import annotations

from app.check.warm_reference import WarmReference


def test_a_refilled_spare_is_the_process_the_next_check_takes():
    spares = WarmReference()
    try:
        spares.refill()
        ready = spares._spare
        assert ready is not None and ready.proc.poll() is None
        assert spares.take() is ready
        fresh = spares.take()  # none ready: a new one
        assert fresh is not ready and fresh.proc.poll() is None
        for process in (ready, fresh):
            process.reap()
    finally:
        spares.stop()


def test_a_dead_spare_is_replaced_and_stop_ends_the_ready_one():
    spares = WarmReference()
    spares.refill()
    dead = spares._spare
    dead.kill("test")
    dead.proc.wait(10)
    taken = spares.take()
    assert taken is not dead and taken.proc.poll() is None
    taken.reap()
    spares.refill()
    ready = spares._spare
    spares.stop()
    assert ready.proc.poll() is not None
    spares.refill()  # stopped: nothing new starts
    assert spares._spare is None
