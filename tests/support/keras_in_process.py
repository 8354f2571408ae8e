"""A stand-in for the Keras worker pool that runs each job in the test's own process.

The pool starts one Keras process per check (a TensorFlow import, seconds of CPU each): fine
for a server, too slow to check the writer matrix's thousand files on two cores. This pool
runs the worker's own job (`app.check.keras.worker.run_job`: load, the every-layer model,
predict, the `.npy` files) in the test process, one Keras for every check, and reads the
answer back as the pool does (`read_result`, with the check's caps). What it leaves out is
the sandbox around the job (its own process, limits, timeout), which tests/check covers.

Only tests import this module (it imports keras); the app never does.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from app.check.keras.jobs import JobRequest, OutputCaps, Progress, read_result
from app.check.keras.worker import run_job, write_result
from tests.support.kerasref import keras

MAX_OUTPUT_BYTES = 256 * 1024 * 1024  # the pool's default cap (app.check.keras.pool)


class InProcessPool:
    """`submit` runs the job at once, in this process; the future it returns is done."""

    def __init__(self) -> None:
        import tensorflow as tf

        self.jobs = 0
        self._was_eager = tf.config.functions_run_eagerly()
        # `predict` traces a graph per model, seconds each on this machine and most of a
        # tiny model's check; run eagerly, the same operations give the same values. Until
        # `stop` (the app's shutdown): later tests of the session trace as before.
        tf.config.run_functions_eagerly(True)

    def start(self) -> None:
        """Nothing to start: Keras is imported already."""

    def stop(self) -> None:
        """Give TensorFlow back its tracing."""
        import tensorflow as tf

        tf.config.run_functions_eagerly(self._was_eager)

    def state(self) -> dict[str, Any]:
        import tensorflow as tf

        return {
            "workers": 1,
            "warm": 1,
            "starting": 0,
            "busy": 0,
            "queued": 0,
            "spawn_failures": 0,
            "keras_version": keras.__version__,
            "tf_version": tf.__version__,
        }

    def submit(
        self,
        request: JobRequest,
        on_progress: Callable[[Progress], None] | None = None,
        *,
        caps: OutputCaps | None = None,
        cancelled: Callable[[], bool] | None = None,
        **_: Any,
    ) -> Future:
        import tensorflow as tf

        def report(stage: str, done: int, total: int) -> None:
            if on_progress is not None:
                on_progress(Progress(stage=stage, done=done, total=total))

        keras.backend.clear_session()  # each job's layers named as in a fresh worker
        with warnings.catch_warnings():  # as in a worker, where Keras' warnings are no errors
            warnings.simplefilter("ignore")
            result = run_job(keras, request, report)
        result.keras_version, result.tf_version = keras.__version__, tf.__version__
        write_result(Path(request.job_dir), result)
        caps = caps or OutputCaps(MAX_OUTPUT_BYTES, MAX_OUTPUT_BYTES)
        future: Future = Future()
        future.set_result(read_result(request.job_dir, caps.max_file_bytes, caps.max_total_bytes))
        self.jobs += 1
        return future
