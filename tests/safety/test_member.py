"""A stored zip member read in place (`app.safety.member`): the window's reads, bounded to the
member, and the CRC-32 check over its bytes, across more than one of the check's chunks."""

from __future__ import annotations

import io
import zipfile
import zlib

import pytest

from app.errors import MalformedModel
from app.safety.member import CRC_CHUNK, MemberWindow, check_crc, member_offset

# Bytes whose every 1 KiB differs, over two and a half of the check's chunks.
PAYLOAD = bytes(range(256)) * (CRC_CHUNK * 5 // 2 // 256) + b"tail"


@pytest.fixture
def archive(tmp_path):
    """A zip holding PAYLOAD stored between two other members, open for reading."""
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as out:
        out.writestr("before.json", b"{}")
        out.writestr("model.weights.h5", PAYLOAD)
        out.writestr("after.json", b"[]")
    with path.open("rb") as fh, zipfile.ZipFile(fh) as opened:
        yield fh, opened.getinfo("model.weights.h5")


def test_window_reads_the_member_bytes_and_stops_at_its_end(archive):
    fh, info = archive
    window = MemberWindow(fh, member_offset(fh, info), info.file_size)
    window.seek(-10, io.SEEK_END)
    buffer = bytearray(64)
    assert window.readinto(buffer) == 10
    assert bytes(buffer[:10]) == PAYLOAD[-10:]
    assert window.readinto(buffer) == 0
    window.seek(3)
    assert window.read(5) == PAYLOAD[3:8]
    assert window.tell() == 8


def test_window_reads_into_a_buffer_of_another_item_size(archive):
    fh, info = archive
    window = MemberWindow(fh, member_offset(fh, info), info.file_size)
    buffer = memoryview(bytearray(16)).cast("I")  # what a caller's array may hand over
    assert window.readinto(buffer) == 16
    assert buffer.tobytes() == PAYLOAD[:16]


def test_check_crc_accepts_the_member_over_several_chunks(archive):
    fh, info = archive
    assert info.file_size > 2 * CRC_CHUNK and info.CRC == zlib.crc32(PAYLOAD)
    check_crc(fh, member_offset(fh, info), info)


def test_check_crc_refuses_a_member_that_does_not_match(archive):
    fh, info = archive
    info.CRC ^= 1
    with pytest.raises(MalformedModel, match="checksum"):
        check_crc(fh, member_offset(fh, info), info)


def test_check_crc_refuses_a_member_cut_short_while_it_is_read(archive):
    """The file ends before the member does (cut after its offset was checked): refused as
    cut short, not a library's error."""
    fh, info = archive
    offset = member_offset(fh, info)
    info.file_size += 3 * CRC_CHUNK  # past the end of the file, from the check's side
    with pytest.raises(MalformedModel, match="cut short"):
        check_crc(fh, offset, info)
