"""A stored (uncompressed) zip member read in place, with fast random access.

h5py reads a `.keras` archive's `model.weights.h5` by seeking all over it. Python 3.11's
`ZipFile.open()` answers a backward seek by reading the member again from its start (and
checking its CRC as it goes), which made reading ResNet50's weights take seconds. A stored
member is a plain byte range of the archive, so this window reads it with `os.pread` at the
member's offset: no copy, no decompression, bounded to the member's size. Its CRC-32 is
checked once, in one pass, before the scan passes: Keras refuses an archive whose member
does not match its checksum, and so do we. In a reading process the sum is taken in a
sibling process (`StoredMember`, app.siblings) while the caller scans the archive's config
and walks the member's HDF5 (`walking_window`), on the other core (ResNet50: 33 ms of CRC-32
beside ~20 of config scan and ~50 of walk); elsewhere on a thread, which the walk waits for
(the two took turns at Python's lock). The checksum is no safety check (a hostile file
carries a right one): the walk is as wary of the bytes before it is known as after.
"""

from __future__ import annotations

import io
import os
import struct
import threading
import zipfile
import zlib
from typing import BinaryIO

from app import siblings
from app.errors import MalformedModel

LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
LOCAL_SIGNATURE = b"PK\x03\x04"
CRC_CHUNK = 1 << 20  # bytes summed at a time, from one buffer read into again
CRC_ANSWER = struct.Struct("<I")  # a sibling's sum


class MemberWindow(io.RawIOBase):
    """Bytes [offset, offset + size) of an open file, as a read-only seekable stream."""

    def __init__(self, fh: BinaryIO, offset: int, size: int) -> None:
        super().__init__()
        self._fd, self._offset, self._size, self._pos = fh.fileno(), offset, size, 0

    @property
    def offset(self) -> int:
        """Where the member's bytes start in the file."""
        return self._offset

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:  # how h5py seeks before each read: asked first
            self._pos = offset if offset > 0 else 0
            return self._pos
        base = {io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        """Read straight into `buffer` (`os.preadv`: no bytes object made and copied again).
        libhdf5 makes ~1,900 reads walking ResNet50's weights file, each a seek and a read
        called from h5py, so the usual one, a whole buffer inside the member, goes first
        (the walk: 2 ms less than with the general case for all)."""
        view = memoryview(buffer)
        position = self._pos
        if position + view.nbytes <= self._size:
            got = os.preadv(self._fd, [view], self._offset + position)
        else:
            got = self._read_end(view)
        self._pos = position + got
        return got

    def _read_end(self, view: memoryview) -> int:
        """A read that reaches past the member's end: what is left of it, if anything."""
        wanted = max(0, self._size - self._pos)
        if not wanted:
            return 0
        with view.cast("B")[:wanted] as target:
            return os.preadv(self._fd, [target], self._offset + self._pos)


class StoredMember:
    """A stored member whose local header was checked, and its CRC-32 being checked beside
    the caller: in a sibling process where this is a reading process that may fork
    (app.siblings.beside), on a thread otherwise. `window()` waits for that check;
    `walking_window()` need not."""

    def __init__(self, fh: BinaryIO, info: zipfile.ZipInfo) -> None:
        self._fh, self._info = fh, info
        self._offset = member_offset(fh, info)
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._sibling = siblings.beside(self._sibling_work)
        if self._sibling is None:
            self._thread = threading.Thread(target=self._check, name="crc-32", daemon=True)
            self._thread.start()

    def _check(self) -> None:
        try:
            check_crc(self._fh, self._offset, self._info)
        except BaseException as exc:  # raised where the window is asked for
            self._failure = exc

    def _sibling_work(self) -> bytes:
        return CRC_ANSWER.pack(member_crc(self._fh, self._offset, self._info))

    def wait(self) -> None:
        """Until the check is done; its error, if any."""
        if self._sibling is not None:
            self._settle_sibling(self._sibling)
        elif self._thread is not None:
            self._thread.join()
        if self._failure is not None:
            raise self._failure

    def _settle_sibling(self, sibling: siblings.Beside) -> None:
        """The sibling's sum, read to the end of its pipe; checked here again when it gave
        none (the member cut short as it read, or the sibling gone): that check's error is
        the one raised."""
        answer = b""
        while chunk := os.read(sibling.answers, CRC_ANSWER.size + 1):
            answer += chunk
        sibling.end()
        self._sibling = None
        if len(answer) != CRC_ANSWER.size:
            self._check()
        elif CRC_ANSWER.unpack(answer)[0] != self._info.CRC:
            self._failure = checksum_mismatch(self._info.filename)

    def window(self) -> MemberWindow:
        self.wait()
        return MemberWindow(self._fh, self._offset, self._info.file_size)

    def walking_window(self) -> MemberWindow:
        """The window for a scan that walks the bytes as warily as any file's and calls
        `wait()` before it passes them, and before it raises what it met (a member that does
        not match its checksum is refused as such, not for what its damage made the walk
        find). At once when a sibling process sums the member; after the sum when a thread
        does: the walk and that thread took turns at Python's lock (ResNet50: the scan 20 ms
        slower than one after the other)."""
        if self._thread is not None:
            self.wait()
        return MemberWindow(self._fh, self._offset, self._info.file_size)


def open_stored(fh: BinaryIO, info: zipfile.ZipInfo) -> MemberWindow:
    """A window on a stored member of the zip open as `fh`; its local header and CRC-32 are
    checked."""
    return StoredMember(fh, info).window()


def member_offset(fh: BinaryIO, info: zipfile.ZipInfo) -> int:
    """Where a stored member's bytes start in the zip open as `fh`; its local header is
    checked, and the file must hold all its bytes."""
    header = os.pread(fh.fileno(), LOCAL_HEADER.size, info.header_offset)
    if len(header) != LOCAL_HEADER.size:
        raise MalformedModel(f"The .keras archive's {info.filename} is cut short.")
    fields = LOCAL_HEADER.unpack(header)
    if fields[0] != LOCAL_SIGNATURE:
        raise MalformedModel(f"The .keras archive's {info.filename} has no valid header.")
    name_length, extra_length = fields[-2], fields[-1]
    offset = info.header_offset + LOCAL_HEADER.size + name_length + extra_length
    if offset + info.file_size > os.fstat(fh.fileno()).st_size:
        raise MalformedModel(f"The .keras archive's {info.filename} is cut short.")
    return offset


def check_crc(fh: BinaryIO, offset: int, info: zipfile.ZipInfo) -> None:
    """The member's bytes against the CRC-32 the archive records for them (the caller made
    sure the file holds them all)."""
    if member_crc(fh, offset, info) != info.CRC:
        raise checksum_mismatch(info.filename)


def member_crc(fh: BinaryIO, offset: int, info: zipfile.ZipInfo) -> int:
    """The CRC-32 of the member's bytes. They are read a `CRC_CHUNK` at a time into one
    buffer that stays in the CPU's cache, where zlib sums them (ResNet50's 98 MB: 33 ms of
    CPU against 44 for the same bytes mapped and summed in place, whose every page zlib met
    the first time in memory)."""
    crc, position, end = 0, offset, offset + info.file_size
    with memoryview(bytearray(CRC_CHUNK)) as buffer:
        while position < end:
            with buffer[: min(CRC_CHUNK, end - position)] as chunk:
                got = os.preadv(fh.fileno(), [chunk], position)
                if not got:
                    raise MalformedModel(f"The .keras archive's {info.filename} is cut short.")
                crc = zlib.crc32(chunk[:got], crc)
            position += got
    return crc


def checksum_mismatch(name: str) -> MalformedModel:
    return MalformedModel(
        f"The .keras archive's {name} does not match its checksum (CRC-32): it was changed "
        "after it was written, or damaged. Keras refuses it too.",
        details={"member": name},
    )
