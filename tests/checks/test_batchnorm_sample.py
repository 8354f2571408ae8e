"""The values a BatchNormalization layer's page shows: the first sample, the first position,
the first CHANNELS channels along the layer's axis, read without reading the whole output."""

from __future__ import annotations

import mmap
from pathlib import Path

import numpy as np

from app.check.batchnorm_modes import CHANNELS, sample
from app.check.keras import load_output


def test_sample_takes_the_first_channels_along_the_axis_every_other_index_0():
    x = np.arange(2 * 3 * 4 * 10, dtype="float32").reshape(2, 3, 4, 10)
    assert sample(x, 3) == [float(v) for v in range(CHANNELS)]  # x[0, 0, 0, :8]
    assert sample(x, 1) == [0.0, 40.0, 80.0]  # x[0, :8, 0, 0]: 3 channels only
    assert sample(x, 2) == [0.0, 10.0, 20.0, 30.0]  # x[0, 0, :8, 0]


def test_sample_of_a_mapped_output_reads_a_few_pages_not_the_sample(tmp_path):
    """A (2, 64, 64, 256) float32 output, 8 MiB: its sample along axis 2 is 8 values 1 KiB
    apart (that axis moved last and the rest flattened copied the whole first sample, 4 MiB
    read into this process: the check samples every axis of a BN layer's output)."""
    (tmp_path / "outputs").mkdir()
    x = np.random.default_rng(0).standard_normal((2, 64, 64, 256)).astype("float32")
    np.save(tmp_path / "outputs" / "0.npy", x)
    mapped = load_output(tmp_path, "outputs/0.npy", mmap=True)
    assert sample(mapped, 2) == [float(v) for v in x[0, 0, :CHANNELS, 0]]
    base = mapped.base
    while not isinstance(base, mmap.mmap):
        base = base.obj if isinstance(base, memoryview) else base.base
    start = np.frombuffer(base, dtype=np.uint8).ctypes.data
    assert _mapped_kb(start) <= 1024  # the kernel maps up to 64 KiB around each read page


def _mapped_kb(start: int) -> int:
    """This process's resident memory in the mapping that begins at `start` (smaps' Rss)."""
    lines = Path("/proc/self/smaps").read_text().splitlines()
    for i, line in enumerate(lines):
        if line.split("-", 1)[0] == f"{start:x}":
            for field in lines[i + 1 :]:
                if field.startswith("Rss:"):
                    return int(field.split()[1])
    raise AssertionError("mapping not found")
