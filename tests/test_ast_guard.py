"""The .npy headers and the reference's source are read one thread at a time through CPython's
AST constructor (app.ast_guard: python/cpython#106905 on 3.11.7)."""

from __future__ import annotations

import ast
import io
import threading

import numpy as np
import pytest

from app import ast_guard
from app.check import input_files
from app.check.keras import jobs


@pytest.fixture
def held(monkeypatch) -> list[bool]:
    """For each AST `ast.literal_eval` builds (NumPy reads a .npy header with it), whether
    the lock was held."""
    seen: list[bool] = []
    literal_eval = ast.literal_eval

    def recorded(text: str):
        seen.append(ast_guard.AST_LOCK.locked())
        return literal_eval(text)

    monkeypatch.setattr(ast, "literal_eval", recorded)
    return seen


def npy_bytes(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def test_an_output_file_header_is_read_under_the_lock(tmp_path, held):
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    (tmp_path / "out.npy").write_bytes(npy_bytes(array))
    assert (jobs.load_output(tmp_path, "out.npy") == array).all()
    assert (jobs.load_output(tmp_path, "out.npy", mmap=True) == array).all()
    assert held == [True, True]


def test_an_inputs_header_is_read_under_the_lock(held):
    array = np.ones((2, 4), dtype=np.float64)
    handle = io.BytesIO(npy_bytes(array))
    shape, dtype = input_files._header(handle)
    assert (shape, dtype) == ((2, 4), np.dtype(np.float64))
    handle.seek(0)
    assert (input_files._read(handle) == array).all()
    assert held and all(held)


def test_the_lock_is_held_by_one_thread_at_a_time():
    """What the lock is for: another thread's header waits while one is read."""
    started, finished = threading.Event(), []
    handle = io.BytesIO(npy_bytes(np.zeros(3)))
    with ast_guard.AST_LOCK:
        reader = threading.Thread(
            target=lambda: (started.set(), finished.append(ast_guard.read_npy_header(handle)))
        )
        reader.start()
        started.wait(5)
        reader.join(0.2)
        assert finished == []  # still waiting for the lock
    reader.join(5)
    assert finished and finished[0][0] == (3,)
