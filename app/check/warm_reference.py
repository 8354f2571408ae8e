"""A warm reference process: the reference side's process, started before it is needed.

The reference side is a fresh `python -m app.check.reference_side` (its own process, like a
Keras worker); importing NumPy, pydantic and our readers takes it about 0.4 s of CPU before
it reads its request. On a machine of two cores that is CPU taken from the Keras worker of
the same check. So one process waits ready, blocked on its request line, and the next check
takes it; a new one is started when a check ends, when the machine is quieter.
"""

from __future__ import annotations

import os
import threading

from app.check import reference_side
from app.check.keras.process import WorkerProcess

REFERENCE_MODULE = reference_side.__name__
# Below the Keras worker in the CPU scheduler: Keras is what a check waits for, and our
# forward has time to spare (measured: it ends a second before Keras on MobileNetV2).
REFERENCE_NICENESS = 10


def blas_threads() -> dict[str, str]:
    """Half the cores for NumPy's BLAS: the Keras worker runs beside it, and two thread pools
    fighting over every core make both several times slower (measured: bench/)."""
    threads = str(max(1, (os.cpu_count() or 1) // 2))
    return dict.fromkeys(("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"), threads)


class WarmReference:
    """At most one reference process kept ready (warm)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spare: WorkerProcess | None = None
        self._stopped = False

    def take(self) -> WorkerProcess:
        """The ready process, or a new one when there is none (or it died)."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and spare.proc.poll() is None:
            return spare
        if spare is not None:
            spare.reap()
        return _spawn()

    def refill(self) -> None:
        """Start a process for the next check, unless one is ready or we are stopping."""
        with self._lock:
            if self._spare is not None or self._stopped:
                return
            self._spare = _spawn()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            spare, self._spare = self._spare, None
        if spare is not None:
            spare.reap()


def _spawn() -> WorkerProcess:
    return WorkerProcess.spawn(REFERENCE_MODULE, blas_threads(), niceness=REFERENCE_NICENESS)
