"""Weights are read for their statistics in blocks of at most STATS_CHUNK values, whatever
their shape: a kernel whose one row holds hundreds of millions of values is read a slice of
that row at a time (reading it whole, as float64, took 2.4 GB for a 300-million-value row)."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.stats import WIDE_PIECE, row_stats, value_blocks, weight_stats


class Recorded:
    """An array that records how many values each read takes, like an h5py dataset."""

    def __init__(self, array: np.ndarray) -> None:
        self.array, self.shape, self.reads = array, array.shape, []

    def __getitem__(self, index):
        block = self.array[index]
        self.reads.append(np.size(block))
        return block


def test_value_blocks_cover_every_value_once_in_order():
    shape = (3, 5, 7)
    seen = np.concatenate(
        [np.arange(105).reshape(shape)[b].reshape(-1) for b in value_blocks(shape, 10)]
    )
    assert seen.tolist() == list(range(105))


def test_value_blocks_take_whole_rows_when_rows_are_small():
    assert list(value_blocks((6, 2), per_block=4)) == [
        (slice(0, 2),),
        (slice(2, 4),),
        (slice(4, 6),),
    ]


def test_value_blocks_slice_one_row_when_a_row_is_larger_than_a_block():
    assert list(value_blocks((2, 5), per_block=3)) == [
        (0, slice(0, 3)), (0, slice(3, 6)), (1, slice(0, 3)), (1, slice(3, 6)),
    ]  # fmt: skip


def test_value_blocks_of_a_scalar_is_the_scalar():
    assert list(value_blocks(())) == [()]


def test_weight_stats_read_a_wide_row_in_blocks(monkeypatch):
    monkeypatch.setattr(value_blocks, "__defaults__", (1000,))
    values = Recorded(np.arange(1, 5001, dtype=np.float32).reshape(1, 5000))
    stats = weight_stats(values)
    assert max(values.reads) == 1000 and sum(values.reads) == 5000
    assert (stats.min, stats.max, stats.mean) == (1.0, 5000.0, 2500.5)


@pytest.mark.parametrize("channels", [1, 7, 64, 2048, 5000])
def test_row_stats_are_each_rows_weight_stats_bit_for_bit(channels):
    rng = np.random.default_rng(channels)
    rows = rng.standard_normal((6, channels)).astype(np.float32) * np.float32(1e3)
    rows[1, ::3], rows[2, ::5], rows[3], rows[4] = 0.0, -0.0, 0.25, -0.0
    found = row_stats(rows)
    assert found is not None
    # As JSON: -0.0 and 0.0 are equal numbers, not equal figures in a report.
    assert [s.model_dump_json() for s in found] == [
        weight_stats(row).model_dump_json() for row in rows
    ]


def test_row_stats_leave_rows_holding_nan_or_inf_to_weight_stats():
    rows = np.ones((2, 4), dtype=np.float32)
    rows[1, 2] = np.inf
    assert row_stats(rows) is None


def test_row_stats_leave_rows_longer_than_a_widened_piece_to_weight_stats():
    assert row_stats(np.ones((2, WIDE_PIECE + 1), dtype=np.float32)) is None
