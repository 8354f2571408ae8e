"""A file the full reading would refuse is refused before its check starts: no check folder,
no Keras job, no reference process, for an HDF5 chunk bomb or an archive lying about its
members. (The check starts as soon as the model is read, while the report's statistics are
still being taken: whatever the statistics would trip on must be found before that.)"""

from __future__ import annotations

import zipfile

import pytest

from app.errors import DecompressionBomb, ExplainerError
from app.reports import Options, Reports, Submission
from app.store import SqliteReportStore
from tests.support.bombs import chunk_bomb
from tests.support.kerasref import keras
from tests.support.models import layers


class CountingRunner:
    """Stands where the CheckRunner stands and counts what admission asks of it."""

    def __init__(self) -> None:
        self.admitted = self.started = 0

    def admit(self):
        self.admitted += 1
        raise AssertionError("a check was admitted for a file that is refused")

    def start(self, check) -> None:
        self.started += 1

    def release(self, folder) -> None:
        pass


@pytest.fixture(scope="module")
def small_h5(tmp_path_factory):
    path = tmp_path_factory.mktemp("small") / "small.h5"
    keras.Sequential([keras.Input((4,)), layers.Dense(4, use_bias=False, name="d")]).save(path)
    return path


def submit(tmp_path, path):
    runner = CountingRunner()
    reports = Reports(SqliteReportStore(tmp_path / "reports.db"), runner)
    with pytest.raises(ExplainerError) as refused:
        reports.create(Submission(model_path=path, filename=path.name), Options(check=True))
    return refused.value, runner


def test_hdf5_chunk_bomb_is_refused_before_any_check_starts(small_h5, tmp_path):
    bomb = chunk_bomb(small_h5, tmp_path / "bomb.h5")
    assert bomb.stat().st_size < 1 << 20  # 256 MiB of kernel in one chunk
    error, runner = submit(tmp_path, bomb)
    assert isinstance(error, DecompressionBomb)
    assert (error.code, error.status) == ("decompression-bomb", 413)
    assert error.details["chunk_bytes"] == 8192 * 8192 * 4
    assert (runner.admitted, runner.started) == (0, 0)


def test_archive_lying_about_its_member_count_is_refused_before_any_check_starts(tmp_path):
    """An end record saying 3 over a central directory of 2,000 entries."""
    path = tmp_path / "liar.keras"
    keras.Sequential([keras.Input((4,)), layers.Dense(2)]).save(path)
    with zipfile.ZipFile(path, "a") as archive:
        for index in range(2_000):
            archive.writestr(f"assets/{index}", b"")
    data = bytearray(path.read_bytes())
    end = data.rindex(b"PK\x05\x06")
    data[end + 8 : end + 12] = (3).to_bytes(2, "little") * 2  # entries: this disk, in all
    path.write_bytes(bytes(data))
    error, runner = submit(tmp_path, path)
    assert (error.code, error.status) == ("unexpected-member", 400)
    assert (runner.admitted, runner.started) == (0, 0)
