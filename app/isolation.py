"""Process isolation: a task on a model file, run in a throwaway process.

libhdf5 is C code reading bytes an attacker chose. A damaged global heap sends it into an
endless loop (fuzzing the readers found one: a mutated `weight_names` attribute kept
`h5py.AttributeManager.__getitem__` spinning for minutes, in plain h5py as in our reader;
tests/safety/test_isolation_process.py rebuilds it on purpose), and a crafted file can make it
allocate without bound (tests/safety/test_hdf5_scan.py) or crash. None of that can be stopped
from inside the process that serves everyone: the loop holds h5py's global lock.

So the serving process hands a file that holds HDF5 (a legacy `.h5`, a `.keras` archive's
weights) to a child process with a wall-clock timeout and an address-space limit. What the
child does is a task its caller registers (`@task`); the readers know nothing of this:

    app.explain.explain_task    the whole explanation; the server never opens the file
    app.explain.read_task       every stored array, row block by row block, before the
                                caller reads the file itself (`app.explain.read_isolated`)

A task is called in the child as task(path, limits, early, **arguments) and returns its
answer; `early(answer)` sends an early answer before its result (the explanation sends what
it knows once the model is read, so that a check can start while the report is made). An
answer is a JSON-able dict, or JSON bytes that a pydantic model wrote (`model_dump_json`),
which cross as they are, after their header, and reach the caller as bytes: serialised once,
validated by the caller on arrival (`model_validate_json`).
The caller takes early answers with `Child.early()` and the result with `Child.result()`, in
that order: an answer it did not ask for is refused (only a child a hostile file took over
sends one). The child answers with JSON bytes only, never pickle: a child that a hostile file
took over must not be able to hand the server an object. Its outcome, judged by the parent:

    done                 the task's JSON result
    an error of ours     the same error class, code, sentence and details
    hung                 `UnreadableFile` (timeout)
    crashed, no answer   `UnreadableFile` (signal)
    out of memory        `UnreadableFile` (memory)
    arrays unreadable    `MalformedModel`

Children are forked from a fork server: one clean, single-threaded process started on first
use with the registered tasks' modules already imported (never forked from the serving
process, whose threads may hold locks), so a task costs a fork, not an interpreter start.
A module registered with `warm_up_with` is imported there too, last: what it runs on import
(app.warm_up: one explanation of a small spec) pays, once, what every child would pay on
its first model.
A one-shot command that is itself such a process (`keras-explainer inspect` without the
check: one thread, no TensorFlow) calls `fork_directly()`: its children are then forked from
it, which saves starting the fork server's interpreter and importing the readers there again
(most of the command's time on a small file).

Inside a reading process, `beside(work)` (app.siblings) runs `work` in a sibling: a fork
of that process, on the other core, under the same walls (it inherits the memory limit, and
dies with its parent), whose answer is bytes the caller checks like any other (the report's
weight statistics: app.analysis.shared_scans; a `.keras` archive's CRC-32: app.safety.member).
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from app import siblings
from app.errors import ExplainerError, MalformedModel, UnreadableFile, all_error_classes
from app.safety.limits import ReadLimits

KILL_GRACE_S = 5.0
CPU_POLL_S = 1.0  # how often the parent reads the child's processor time
MAX_ANSWER_BYTES = 256 << 20
INCOMPLETE = "Reading this file did not complete; it is refused."

Answer = dict[str, Any] | bytes  # a JSON-able dict, or JSON bytes written by pydantic
Early = Callable[[Answer], None]
Task = Callable[..., Answer]  # task(path, limits, early, **arguments)

_tasks: list[Task] = []
_warm_ups: list[str] = []  # modules the fork server imports last (`warm_up_with`)
_context: Any = None
_direct = False


def task(function: Task) -> Task:
    """Register `function` as a task a child may run; its module is imported in the fork
    server before any child is forked from it."""
    _tasks.append(function)
    return function


def warm_up_with(module: str) -> None:
    """Have the fork server import `module` (by name: the caller need not import it) once the
    tasks' modules are."""
    if module not in _warm_ups:
        _warm_ups.append(module)


def run_task(function: Task, path: Path, limits: ReadLimits, **arguments: Any) -> Answer:
    """Run a task that sends no early answer; its JSON result, or the error its outcome
    calls for."""
    with started(function, path, limits, **arguments) as child:
        return child.result()


@contextmanager
def started(function: Task, path: Path, limits: ReadLimits, **arguments: Any) -> Iterator[Child]:
    """A child running `function` on `path`; it is ended (killed if need be) on leaving."""
    child = Child(function, path, limits, arguments)
    try:
        yield child
    finally:
        child.end()


class Child:
    """A task running in a child process, seen from the parent."""

    def __init__(self, function: Task, path: Path, limits: ReadLimits, arguments: dict):
        if function not in _tasks:
            raise ValueError(f"{function.__qualname__} is not a registered task (@task)")
        ctx = _children_context()
        # The deadline that grows with the file counts the child's processor time, not the
        # clock: a libhdf5 loop burns the processor, while a child that merely waits its turn
        # on a busy machine does not (DenseNet121's 33 MB, 2 s of reading, ran past its 11 s
        # on the clock while a check and other work shared the two cores). The clock keeps
        # the whole `isolation_timeout_s` as its cap.
        budget = limits.isolation_deadline_s(path.stat().st_size)
        self.limits = replace(limits, isolation_timeout_s=budget)  # what a timeout says
        self._receiver, sender = ctx.Pipe(duplex=False)
        self._process = ctx.Process(
            target=_child_main, args=(function, str(path), limits, arguments, sender), daemon=True
        )
        self._process.start()
        sender.close()
        self._wall_s = limits.isolation_timeout_s
        self._cap = time.monotonic() + self._wall_s

    def early(self) -> Answer:
        """The task's next early answer; the error its outcome calls for when it ends first."""
        answer = self._next()
        if _is(answer, "early"):
            return _result(answer)
        _judge(answer, self.limits)
        raise UnreadableFile(INCOMPLETE)  # it ended without the answer its caller expects

    def result(self) -> Answer:
        """The task's JSON result, or the error its outcome calls for."""
        answer = self._next()
        if _is(answer, "early"):
            raise UnreadableFile(INCOMPLETE)  # an answer nobody asked for
        return _judge(answer, self.limits)

    def end(self) -> None:
        self._receiver.close()
        _end(self._process)

    def _next(self) -> Any:
        """The child's next answer decoded, "timeout", or ("signal", n) when it died
        without one."""
        answer = _next_answer(self._receiver, self._ready)
        if isinstance(answer, dict) and answer.get("raw"):  # the bytes follow their header
            answer["result"] = _next_answer(self._receiver, self._ready, decode=False)
            if not isinstance(answer["result"], bytes):
                answer = answer["result"]  # "timeout", or None: it ended without them
        if answer is None:
            self._process.join(KILL_GRACE_S)
            return ("signal", -(self._process.exitcode or 0))
        return answer

    def _ready(self) -> bool:
        """Whether the child sent something (or ended) before it used its processor time
        and before the clock's cap."""
        while True:
            left = min(
                self.limits.isolation_timeout_s - cpu_seconds(self._process.pid),
                self._cap - time.monotonic(),
            )
            if left <= 0:
                if time.monotonic() >= self._cap:  # what a timeout says: the clock's figure
                    self.limits = replace(self.limits, isolation_timeout_s=self._wall_s)
                return False
            if self._receiver.poll(min(left, CPU_POLL_S)):
                return True


def cpu_seconds(pid: int | None) -> float:
    """The processor time (user and system, every thread) a live process has used, with
    that of its children it waited for (its sibling, `beside`); 0 where it cannot be read
    (the process is gone, or there is no /proc): the clock's cap stands."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime: proc(5) 14-17
    return ticks / os.sysconf("SC_CLK_TCK")


def _is(answer: Any, outcome: str) -> bool:
    return isinstance(answer, dict) and answer.get("outcome") == outcome


def _result(answer: dict[str, Any]) -> Answer:
    result = answer.get("result")
    return result if isinstance(result, dict | bytes) else {}


def _next_answer(receiver: Any, ready: Callable[[], bool], decode: bool = True) -> Any:
    """The child's next message (decoded, or its bytes); "timeout"; None when it ended
    without one."""
    try:
        if not ready():
            return "timeout"
        message = receiver.recv_bytes(MAX_ANSWER_BYTES)
        return json.loads(message) if decode else message
    except (EOFError, OSError, ValueError):
        return None


def start_fork_server() -> None:
    """Start the fork server now (the server's startup calls this), so that the first upload
    does not wait for it to import its libraries."""
    import multiprocessing.forkserver  # here: a command forking directly never starts one

    _fork_server()
    multiprocessing.forkserver.ensure_running()


def fork_directly() -> None:
    """Fork children from this process from now on, while it is one that may be forked
    (`siblings.forkable`); the fork server otherwise."""
    global _direct
    _direct = True


def _children_context() -> Any:
    if _direct and siblings.forkable():
        return multiprocessing.get_context("fork")
    return _fork_server()


def _fork_server() -> Any:
    global _context
    if _context is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(preloaded())
        _context = ctx
    return _context


def preloaded() -> list[str]:
    """The modules the fork server imports: the registered tasks', and the parent's main
    module, which multiprocessing runs again in every child (as __mp_main__): preloaded,
    that run finds its imports done and a task starts in about 8 ms instead of about 90
    (measured on ResNet50's breakdown, with `keras-explainer serve`)."""
    modules = sorted({function.__module__ for function in _tasks} | _main_modules())
    return modules + [m for m in _warm_ups if m not in modules]


def _main_modules() -> set[str]:
    """`python -m pkg.mod`: that module; a script (a console entry point such as
    `keras-explainer`): the modules of the functions it imported."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None:
        return {spec.name}
    modules = {getattr(value, "__module__", None) for value in vars(main or object).values()}
    return {m for m in modules if isinstance(m, str) and m not in ("__main__", "builtins")}


def _end(child: Any) -> None:
    child.join(0.5)
    if child.is_alive():
        child.kill()
        child.join(KILL_GRACE_S)


def _judge(outcome: Any, limits: ReadLimits) -> Answer:
    if isinstance(outcome, dict) and outcome.get("outcome") == "done":
        return _result(outcome)
    if isinstance(outcome, dict) and outcome.get("outcome") == "error":
        raise _error_class(outcome["code"])(outcome["message"], outcome.get("details"))
    if isinstance(outcome, dict) and outcome.get("outcome") == "memory":
        raise UnreadableFile(
            "Reading this file would take more memory than the explainer allows; it is refused.",
            details={"limit": limits.isolation_memory_bytes},
        )
    if isinstance(outcome, dict) and outcome.get("outcome") == "damaged":
        raise MalformedModel("The arrays in this file are damaged and could not be read.")
    if outcome == "timeout":
        raise UnreadableFile(
            f"Reading this file did not finish within {limits.isolation_timeout_s:g} seconds; "
            "it is refused.",
            details={"timeout_s": limits.isolation_timeout_s},
        )
    raise UnreadableFile(
        "The HDF5 library crashed while reading this file; it is refused.",
        details={"signal": outcome[1] if isinstance(outcome, tuple | list) else None},
    )


def _child_main(function: Task, path: str, limits: ReadLimits, arguments: dict, sender) -> None:
    """In the child: run the task under the memory limit, answer in JSON. The garbage
    collector is off: what the child inherited (modules, the fork server's or the command's
    objects) is frozen, so that no collection walks it or writes into its pages, and the
    task's own objects are freed by their counts: ResNet50's whole explanation leaves no
    cycle to collect, and its collections cost 19 ms of its ~490 of CPU for nothing (70
    collections took 40 ms before anything was frozen). A task that made cycles would only
    keep them until the process ends, under the same memory limit."""
    gc.freeze()
    gc.disable()
    _limit_memory(limits.isolation_memory_bytes)
    siblings.answers_fd = sender.fileno()  # this is a reading process

    def early(result: Answer) -> None:
        _send(sender, {"outcome": "early", "result": result})

    try:
        outcome = {
            "outcome": "done",
            "result": function(Path(path), _inner(limits), early, **arguments),
        }
    except ExplainerError as error:
        outcome = {"outcome": "error", "code": error.code, "message": error.message}
        outcome["details"] = error.details
    except MemoryError:
        outcome = {"outcome": "memory"}
    except (OSError, ValueError, TypeError, KeyError, IndexError, RuntimeError):
        outcome = {"outcome": "damaged"}
    _send(sender, outcome)
    sender.close()


def _send(sender: Any, message: dict[str, Any]) -> None:
    """One message; JSON bytes of a result are sent apart, as they are, after the header."""
    result = message.get("result")
    if isinstance(result, bytes):
        sender.send_bytes(json.dumps({**message, "result": None, "raw": True}).encode())
        sender.send_bytes(result)
        return
    sender.send_bytes(json.dumps(message, default=str).encode())


def _inner(limits: ReadLimits) -> ReadLimits:
    """Inside the child, reading is direct: it is the throwaway process."""
    return replace(limits, isolate_hdf5=False)


def _error_class(code: str) -> type[ExplainerError]:
    return {cls.code: cls for cls in all_error_classes()}.get(code, UnreadableFile)


def _limit_memory(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
