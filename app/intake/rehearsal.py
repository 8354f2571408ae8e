"""HDF5 is read in a throwaway process, never first in the serving process.

libhdf5 is C code reading bytes an attacker chose. A damaged global heap sends it into an
endless loop (fuzzing the readers found one: a mutated `weight_names` attribute kept
`h5py.AttributeManager.__getitem__` spinning for minutes, in plain h5py as in our reader;
tests/intake/test_rehearsal.py rebuilds it on purpose), and a crafted file can make it
allocate without bound (tests/intake/test_hdf5_scan.py) or crash. None of that can be stopped
from inside the process that serves everyone: the loop holds h5py's global lock.

So a file that holds HDF5 (a legacy `.h5`, a `.keras` archive's weights) is handled by a child
process with a wall-clock timeout and an address-space limit, doing one of two tasks:

    "read"     `read_model` as the server would, then every stored array, row block by row
               block (`rehearse`: the caller may then read the file itself, safely)
    "explain"  the whole explanation (`app.service.explain_in_process`): the server gets the
               report and never opens the file (`run_task`, used by `app.service`)

The child answers with JSON bytes only, never pickle: a child that a hostile file took over
must not be able to hand the server an object. A task may send early answers before its
result (the explanation's gate, so that a check can start while the report is being made);
the parent hands each to `on_early` as it comes. Its outcome, judged by the parent:

    done                 the task's JSON result
    an error of ours     the same error class, code, sentence and details
    hung                 `UnreadableFile` (timeout)
    crashed, no answer   `UnreadableFile` (signal)
    out of memory        `UnreadableFile` (memory)
    arrays unreadable    `MalformedModel`

Children are forked from a fork server: one clean, single-threaded process started on first
use with h5py and the readers already imported (never forked from the serving process, whose
threads may hold locks), so a task costs a fork, not an interpreter start.
"""

from __future__ import annotations

import importlib
import json
import multiprocessing
import multiprocessing.forkserver
import resource
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.errors import ExplainerError, MalformedModel, UnreadableFile, all_error_classes
from app.intake.limits import IntakeLimits

# app.cli too: multiprocessing re-runs the parent's main module in every child (as
# __mp_main__), and a server started by `keras-explainer serve` or `python -m app.cli` has
# app.cli there. Preloaded, that re-run finds its imports done: a task starts in about 8 ms
# instead of about 90 (measured on ResNet50's breakdown).
PRELOAD = ["numpy", "h5py", "app.formats", "app.layers", "app.service", "app.cli"]
ROWS_PER_READ = 1 << 20  # elements per slice, as the breakdown's statistics read them
KILL_GRACE_S = 5.0
MAX_ANSWER_BYTES = 256 << 20
# A task is "module:function", called in the child as function(path, limits, early,
# **arguments) and returning a JSON-able dict; early(dict) sends an early answer.
TASKS = {"read": "app.intake.rehearsal:read_everything", "explain": "app.service:explain_task"}
_context: Any = None


def rehearse(path: Path, limits: IntakeLimits) -> None:
    """Read `path` whole in a child; return when the caller may read it itself."""
    run_task("read", path, limits)


def run_task(
    task: str,
    path: Path,
    limits: IntakeLimits,
    on_early: Callable[[dict[str, Any]], None] | None = None,
    **arguments: Any,
) -> dict[str, Any]:
    """Run `task` on `path` in a child; its JSON result, or the error its outcome calls for.
    Early answers go to `on_early` as they come; what it raises ends the child and is raised."""
    return _judge(_run_child(task, str(path), limits, arguments, on_early), limits)


def _run_child(
    task: str, path: str, limits: IntakeLimits, arguments: dict, on_early: Callable | None
) -> Any:
    """The child's decoded answer, "timeout", or ("signal", n) when it died without one."""
    ctx = _fork_server()
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_child_main, args=(task, path, limits, arguments, sender), daemon=True
    )
    child.start()
    sender.close()
    deadline = time.monotonic() + limits.rehearsal_timeout_s
    try:
        while True:
            answer = _next_answer(receiver, deadline)
            if not (isinstance(answer, dict) and answer.get("outcome") == "early"):
                break
            if on_early is not None:
                on_early(answer.get("result") or {})
        if answer is None:
            child.join(KILL_GRACE_S)
            return ("signal", -(child.exitcode or 0))  # the child died without a word
        return answer
    finally:
        receiver.close()
        _end(child)


def _next_answer(receiver: Any, deadline: float) -> Any:
    """The child's next message decoded; "timeout"; None when it ended without one."""
    try:
        if not receiver.poll(max(0.0, deadline - time.monotonic())):
            return "timeout"
        return json.loads(receiver.recv_bytes(MAX_ANSWER_BYTES))
    except (EOFError, OSError, ValueError):
        return None


def start_fork_server() -> None:
    """Start the fork server now (the server's startup calls this), so that the first upload
    does not wait for it to import its libraries."""
    _fork_server()
    multiprocessing.forkserver.ensure_running()


def _fork_server() -> Any:
    global _context
    if _context is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        _context = ctx
    return _context


def _end(child: Any) -> None:
    child.join(0.5)
    if child.is_alive():
        child.kill()
        child.join(KILL_GRACE_S)


def _judge(outcome: Any, limits: IntakeLimits) -> dict[str, Any]:
    if isinstance(outcome, dict) and outcome.get("outcome") == "done":
        return outcome.get("result") or {}
    if isinstance(outcome, dict) and outcome.get("outcome") == "error":
        raise _error_class(outcome["code"])(outcome["message"], outcome.get("details"))
    if isinstance(outcome, dict) and outcome.get("outcome") == "memory":
        raise UnreadableFile(
            "Reading this file would take more memory than the explainer allows; it is refused.",
            details={"limit": limits.rehearsal_memory_bytes},
        )
    if isinstance(outcome, dict) and outcome.get("outcome") == "damaged":
        raise MalformedModel("The arrays in this file are damaged and could not be read.")
    if outcome == "timeout":
        raise UnreadableFile(
            f"Reading this file did not finish within {limits.rehearsal_timeout_s:g} seconds; "
            "it is refused.",
            details={"timeout_s": limits.rehearsal_timeout_s},
        )
    raise UnreadableFile(
        "The HDF5 library crashed while reading this file; it is refused.",
        details={"signal": outcome[1] if isinstance(outcome, tuple | list) else None},
    )


def _child_main(task: str, path: str, limits: IntakeLimits, arguments: dict, sender) -> None:
    """In the child: run the task under the memory limit, answer in JSON."""
    _limit_memory(limits.rehearsal_memory_bytes)

    def early(result: dict[str, Any]) -> None:
        sender.send_bytes(json.dumps({"outcome": "early", "result": result}).encode())

    try:
        outcome = {
            "outcome": "done",
            "result": _task(task)(Path(path), _inner(limits), early, **arguments),
        }
    except ExplainerError as error:
        outcome = {"outcome": "error", "code": error.code, "message": error.message}
        outcome["details"] = error.details
    except MemoryError:
        outcome = {"outcome": "memory"}
    except (OSError, ValueError, TypeError, KeyError, IndexError, RuntimeError):
        outcome = {"outcome": "damaged"}
    sender.send_bytes(json.dumps(outcome, default=str).encode())
    sender.close()


def _task(task: str) -> Any:
    module, function = TASKS[task].split(":")
    return getattr(importlib.import_module(module), function)


def _inner(limits: IntakeLimits) -> IntakeLimits:
    """Inside the child, reading is direct: it is the throwaway process."""
    return replace(limits, rehearse_hdf5=False)


def read_everything(path: Path, limits: IntakeLimits, early: Callable) -> dict[str, Any]:
    """The server's reading of `path`, then every stored array, row block by row block."""
    from app.formats import read_model  # imported in the fork server already (PRELOAD)

    with read_model(path, limits) as loaded:
        for _, node in loaded.graph.walk():
            for stored in node.stored or []:
                _read_rows(stored.values)
    return {}


def _error_class(code: str) -> type[ExplainerError]:
    return {cls.code: cls for cls in all_error_classes()}.get(code, UnreadableFile)


def _read_rows(values: Any) -> None:
    shape = tuple(values.shape)
    if not shape:
        values[()]
        return
    row = max(1, ROWS_PER_READ // max(1, _product(shape[1:])))
    for start in range(0, shape[0], row):
        values[start : start + row]


def _product(dims: tuple[int, ...]) -> int:
    total = 1
    for dim in dims:
        total *= int(dim)
    return total


def _limit_memory(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
