"""Tasks standing for a throwaway process that a hostile file took over (app.isolation).

A child imports this module to run them: it imports no Keras (the child's memory is capped).
"""

from __future__ import annotations

import gc
import json
import os
import resource
import select
import signal
import time

from app import isolation, siblings
from app.explain import explain_file, explain_task


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
def dies_after_the_report(path, limits, early, **arguments):
    """The explanation asked for without a check (its report first), killed once it has sent
    the report: the model read made last never comes."""

    def then_dies(answer):
        early(answer)
        os.kill(os.getpid(), signal.SIGKILL)

    return explain_task(path, limits, then_dies, **arguments)


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


@isolation.task
def asks_beside(path, limits, early, fails: bool = False):
    """Not hostile: what a sibling (`siblings.beside`) says of itself, as its answer: its
    process, its parent, its memory limit, whether the reading process's answer pipe is
    open in it; with `fails`, its work raises."""
    fd = siblings.answers_fd

    def work() -> bytes:
        if fails:
            raise RuntimeError("the work failed")
        facts = {
            "pid": os.getpid(),
            "parent": os.getppid(),
            "memory": resource.getrlimit(resource.RLIMIT_AS)[0],
            "answers_open": _is_open(fd),
        }
        return json.dumps(facts).encode()

    sibling = siblings.beside(work)
    try:
        answer = b"".join(iter(lambda: os.read(sibling.answers, 1 << 16), b""))
    finally:
        sibling.end()
    facts = json.loads(answer) if answer else None
    return {"sibling": facts, "me": os.getpid(), "memory": limits.isolation_memory_bytes}


@isolation.task
def reads_a_siblings_answer_before_it_ends(path, limits, early):
    """Not hostile: a sibling's answer read to its end while the sibling has not ended (its
    exit held until the answer's end is seen, or 5 s): the answer, or None when its end
    came only with the sibling's."""
    release, held = os.pipe()
    real_exit = os._exit

    def held_exit(code: int) -> None:  # inherited by the sibling: it waits to be let go
        os.read(release, 1)
        real_exit(code)

    os._exit = held_exit
    try:
        sibling = siblings.beside(lambda: b"answer")
    finally:
        os._exit = real_exit
    parts, ended = [], False
    try:
        while select.select([sibling.answers], [], [], 5)[0]:
            part = os.read(sibling.answers, 1 << 16)
            if not part:
                ended = True
                break
            parts.append(part)
    finally:
        os.close(held)
        sibling.end()
    return {"answer": b"".join(parts).decode() if ended else None}


@isolation.task
def leaves_a_sibling_behind(path, limits, early):
    """A reading process that ends while its sibling still works (sleeps): the sibling's
    pid."""

    def sleeps() -> bytes:
        time.sleep(60)
        return b""

    return {"sibling": siblings.beside(sleeps).pid}


@isolation.task
def explains_counting_siblings(path, limits, early, here: bool = False, **arguments):
    """Not hostile: the explanation (`here`: as `inspect`'s tables ask for it in the
    reading process, app.terminal_text), and the siblings it started."""
    started = []
    beside = siblings.beside

    def counting(work):
        sibling = beside(work)
        started.append(sibling is not None)
        return sibling

    siblings.beside = counting
    try:
        if here:
            explain_file(path, limits=limits, with_read=False, digest=("", 1))
        else:
            explain_task(path, limits, early, **arguments)
    finally:
        siblings.beside = beside
    return {"siblings": started}


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True
