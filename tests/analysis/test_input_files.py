"""A caller's inputs file is checked header by header before any array is read."""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

from app.check.input_files import MAX_ARRAY_VALUES, read_input_file
from app.errors import InvalidRequest
from tests.support.bombs import GiB, deflated_npz
from tests.support.bombs import npy_header as declared_header


def npy_bytes(shape: tuple[int, ...], descr: str = "<f4", data: bytes = b"") -> bytes:
    """An .npy whose header declares `shape` and `descr`, followed by `data` (maybe short)."""
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


def npz_of(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def refused(tmp_path, data: bytes, name: str = "x.npy") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InvalidRequest) as caught:
        read_input_file(path)
    return caught.value.message


def test_a_header_declaring_2_to_the_40_floats_is_refused_before_reading(tmp_path):
    tracemalloc.start()
    message = refused(tmp_path, npy_bytes((1 << 40,)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "1,099,511,627,776 values" in message
    assert peak < 1 << 20  # nothing near 8 TiB (or even a MiB) was asked for


def test_a_header_over_the_per_input_cap_is_refused(tmp_path):
    assert "at most 16,777,216" in refused(tmp_path, npy_bytes((2, MAX_ARRAY_VALUES // 2 + 1)))


def test_an_npz_that_inflates_to_a_gibibyte_is_refused_unread(tmp_path):
    gib_of_zeros = npy_bytes((1 << 28,)) + bytes(1 << 20)  # the rest never needs to exist
    bomb = npz_of({"x0.npy": gib_of_zeros})
    assert len(bomb) < 20_000
    tracemalloc.start()
    message = refused(tmp_path, bomb, "x.npz")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "268,435,456 values" in message
    assert peak < 4 << 20


def test_an_npz_member_inflating_past_its_header_is_read_only_as_far_as_declared(tmp_path):
    """Four float32 values declared, then a GiB of zeros in the same deflated member: the read
    inflates the 16 bytes the header declares (and a buffer), never the GiB."""
    path = tmp_path / "x.npz"
    path.write_bytes(deflated_npz(declared_header((4,)) + bytes(16), GiB))
    tracemalloc.start()
    started = time.perf_counter()
    arrays = read_input_file(path)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert np.array_equal(arrays["x0"], np.zeros(4, np.float32))
    assert peak < 4 << 20
    assert elapsed < 1.0  # inflating the GiB takes seconds


def test_npz_members_together_over_the_total_cap_are_refused(tmp_path):
    each = npy_bytes((MAX_ARRAY_VALUES,))
    message = refused(tmp_path, npz_of({f"x{i}.npy": each for i in range(5)}), "x.npz")
    assert "83,886,080 values in all" in message


@pytest.mark.parametrize(
    ("descr", "said"),
    [
        ("|V0", "integers or floats"),  # a void dtype weighs nothing
        ("<U3", "integers or floats"),
        ("<c8", "integers or floats"),
        ("<f16", "at most 64 bits"),  # long double: 16 bytes a value
        ([("a", "<f4")], "plain numbers"),  # structured
        ("(1048576,)<f4", "plain numbers"),  # sub-array: 8 "elements" of 4 MiB each
    ],
)
def test_dtypes_that_are_not_plain_numbers_are_refused(tmp_path, descr, said):
    assert said in refused(tmp_path, npy_bytes((8,), descr))


def test_a_header_that_is_not_a_header_is_refused(tmp_path):
    assert "must be a .npy array" in refused(tmp_path, b"\x93NUMPY\x01\x00\x10\x00{garbage}    \n")
    assert "must be a .npy array" in refused(tmp_path, b"not an array at all")


def test_data_shorter_than_its_header_declares_is_refused(tmp_path):
    assert "must be a .npy array" in refused(tmp_path, npy_bytes((100,), data=bytes(8)))


def test_an_npz_member_that_is_not_an_array_is_refused(tmp_path):
    assert "must be a .npy array" in refused(tmp_path, npz_of({"notes.txt": b"hi"}), "x.npz")


def test_plain_arrays_are_read_exactly(tmp_path):
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.save(tmp_path / "x.npy", x)
    assert np.array_equal(read_input_file(tmp_path / "x.npy"), x)
    np.savez_compressed(tmp_path / "x.npz", a=x, b=x.astype(np.int64) * 2)
    read = read_input_file(tmp_path / "x.npz")
    assert sorted(read) == ["a", "b"]
    assert np.array_equal(read["b"], [[0, 2, 4], [6, 8, 10]]) and read["b"].dtype == np.int64
