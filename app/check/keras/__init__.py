"""Keras runs here, and only here: worker processes and the pool that manages them.

Importing this package never imports Keras or TensorFlow; only ``worker.main()`` does, inside
a worker process.
"""

from app.check.keras.jobs import (
    InvalidResult,
    JobRequest,
    JobResult,
    LayerOutputs,
    OutputCaps,
    Progress,
    load_output,
    read_result,
    write_arrays,
)
from app.check.keras.pool import PoolBusy, WorkerPool

__all__ = [
    "InvalidResult",
    "JobRequest",
    "JobResult",
    "LayerOutputs",
    "OutputCaps",
    "PoolBusy",
    "Progress",
    "WorkerPool",
    "load_output",
    "read_result",
    "write_arrays",
]
