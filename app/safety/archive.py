"""The `.keras` zip, checked before any member is read, and read under hard caps.

Keras writes exactly `config.json`, `metadata.json` and `model.weights.h5` (or, on request,
`model.weights.npz`, which the reader then declines); anything else is refused. Names must be
plain relative paths (no traversal, no absolute or drive paths, no control characters), given
once, unencrypted, stored or deflated. Sizes are checked twice: as declared in the central
directory before anything is decompressed, and as really produced while decompressing, so a
header that lies about a member's size changes nothing.
"""

from __future__ import annotations

import re
import struct
import zipfile
from typing import BinaryIO

from app.errors import (
    DecompressionBomb,
    DuplicateMember,
    EncryptedMember,
    JsonTooLarge,
    MalformedModel,
    UnexpectedMember,
    UnsafeMemberName,
)
from app.safety.foreign import framework_of_members, refuse
from app.safety.limits import DEFAULT_LIMITS, ReadLimits
from app.safety.member import checksum_mismatch

CONFIG_MEMBER = "config.json"
METADATA_MEMBER = "metadata.json"
WEIGHTS_H5 = "model.weights.h5"
WEIGHTS_NPZ = "model.weights.npz"
KERAS_MEMBERS = frozenset({CONFIG_MEMBER, METADATA_MEMBER, WEIGHTS_H5, WEIGHTS_NPZ})
JSON_MEMBERS = frozenset({CONFIG_MEMBER, METADATA_MEMBER})
MAX_MEMBERS = 8  # Keras writes three
SAFE_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}(/[A-Za-z0-9_.\-]{1,128}){0,8}/?")
END_OF_CENTRAL_DIRECTORY = b"PK\x05\x06"
EOCD_SIZE = 22
DIRECTORY_ENTRY = b"PK\x01\x02"
DIRECTORY_ENTRY_SIZE = 46
ZIP64_LOCATOR = b"PK\x06\x07"
ZIP64_LOCATOR_SIZE = 20
ZIP64_END = b"PK\x06\x06"
ZIP64_END_SIZE = 56
MAX_COMMENT = 0xFFFF
COPY_CHUNK = 1 << 20
ENCRYPTED_FLAG = 0x1
COMPRESSIONS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})


def open_checked(fh: BinaryIO, limits: ReadLimits = DEFAULT_LIMITS) -> zipfile.ZipFile:
    """The archive open as `fh`, once its members were counted and each was checked (name,
    uniqueness, encryption, compression, declared size). The caller closes it."""
    check_member_count(fh)
    archive = zipfile.ZipFile(fh)
    try:
        check_archive(archive, limits)
    except BaseException:
        archive.close()
        raise
    return archive


def check_member_count(fh: BinaryIO) -> None:
    """Refuse an archive with more members than Keras writes, before `zipfile` builds an
    object per member: counted both as the end record declares and as the central directory
    really holds (an end record can lie; counting stops at the first member too many)."""
    end = _end_record(fh)
    if end is None:
        return  # zipfile will say the archive is damaged
    declared, directory_start, directory_size = end
    held = _members_held(fh, directory_start, directory_size)
    if max(declared, held) > MAX_MEMBERS:
        shown = f"{declared:,}" if declared > MAX_MEMBERS else f"more than {MAX_MEMBERS}"
        raise UnexpectedMember(
            f"The .keras archive holds {shown} members; Keras writes three "
            f"({CONFIG_MEMBER}, {METADATA_MEMBER}, {WEIGHTS_H5}).",
            details={"members": max(declared, held)},
        )


def check_archive(archive: zipfile.ZipFile, limits: ReadLimits = DEFAULT_LIMITS) -> None:
    """Every member's name, uniqueness, encryption, compression and declared size."""
    infos = archive.infolist()
    if framework := framework_of_members([info.filename for info in infos]):
        raise refuse(framework)
    for info in infos:
        _check_name(info.filename)
    _check_unique(infos)
    for info in infos:
        _check_member(info, limits)


def read_json_member(
    archive: zipfile.ZipFile, name: str, limits: ReadLimits = DEFAULT_LIMITS
) -> bytes:
    """A JSON member's bytes, decompressing at most one byte past the JSON cap."""
    info = archive.getinfo(name)
    try:
        with archive.open(info) as member:
            data = member.read(limits.max_json_bytes + 1)  # to its end: zipfile checks the CRC
    except zipfile.BadZipFile as exc:
        if "CRC" in str(exc):
            raise checksum_mismatch(name) from exc
        raise
    if len(data) > limits.max_json_bytes:
        raise _json_too_large(name, limits)
    return data


def copy_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    target: BinaryIO,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> None:
    """Decompress a member into `target`, stopping as soon as it passes a cap."""
    written = 0
    with archive.open(info) as member:
        while chunk := member.read(COPY_CHUNK):
            written += len(chunk)
            _check_size(info.filename, written, info.compress_size, limits)
            target.write(chunk)
    target.seek(0)


def _end_record(fh: BinaryIO) -> tuple[int, int, int] | None:
    """(members declared, where the central directory starts, its size), as zipfile finds
    them: the directory ends where the end record (or its Zip64 records) begins."""
    size = fh.seek(0, 2)
    start = max(0, size - EOCD_SIZE - MAX_COMMENT)
    fh.seek(start)
    tail = fh.read()
    at = tail.rfind(END_OF_CENTRAL_DIRECTORY)
    if at < 0 or len(tail) - at < EOCD_SIZE:
        return None
    (total,) = struct.unpack("<H", tail[at + 10 : at + 12])
    (directory_size,) = struct.unpack("<I", tail[at + 12 : at + 16])
    record_at = start + at
    zip64 = _zip64_end(fh, record_at)
    if zip64 is not None:
        total, directory_size, record_at = zip64
    return total, record_at - directory_size, directory_size


def _zip64_end(fh: BinaryIO, record_at: int) -> tuple[int, int, int] | None:
    """(members, directory size, where the Zip64 end record starts), when there is one."""
    if record_at < ZIP64_LOCATOR_SIZE + ZIP64_END_SIZE:
        return None
    fh.seek(record_at - ZIP64_LOCATOR_SIZE)
    if fh.read(4) != ZIP64_LOCATOR:
        return None
    end_at = record_at - ZIP64_LOCATOR_SIZE - ZIP64_END_SIZE
    fh.seek(end_at)
    record = fh.read(ZIP64_END_SIZE)
    if record[:4] != ZIP64_END:
        return None
    total, directory_size = struct.unpack("<QQ", record[32:48])
    return total, directory_size, end_at


def _members_held(fh: BinaryIO, directory_start: int, directory_size: int) -> int:
    """Central directory entries really there, counted up to one more than MAX_MEMBERS."""
    count, at = 0, directory_start
    while count <= MAX_MEMBERS and at < directory_start + directory_size and at >= 0:
        fh.seek(at)
        header = fh.read(DIRECTORY_ENTRY_SIZE)
        if len(header) < DIRECTORY_ENTRY_SIZE or header[:4] != DIRECTORY_ENTRY:
            break  # zipfile will say the directory is damaged
        name, extra, comment = struct.unpack("<HHH", header[28:34])
        at += DIRECTORY_ENTRY_SIZE + name + extra + comment
        count += 1
    return count


def _check_name(name: str) -> None:
    parts = name.rstrip("/").split("/")
    if not SAFE_NAME.fullmatch(name) or any(part in (".", "..") for part in parts):
        shown = "".join(ch if ch.isprintable() else "?" for ch in name)[:60]
        raise UnsafeMemberName(
            f"The .keras archive holds a member named {shown!r}: only plain relative names are "
            "accepted (no absolute paths, `..`, drive letters or control characters).",
        )


def _check_unique(infos: list[zipfile.ZipInfo]) -> None:
    seen: set[str] = set()
    for info in infos:
        if info.filename in seen:
            raise DuplicateMember(
                f"The .keras archive holds {info.filename} twice; readers would disagree on "
                "which one counts.",
                details={"member": info.filename},
            )
        seen.add(info.filename)


def _check_member(info: zipfile.ZipInfo, limits: ReadLimits) -> None:
    if info.filename not in KERAS_MEMBERS:
        raise UnexpectedMember(
            f"The .keras archive holds {info.filename}, which Keras does not write: only "
            f"{CONFIG_MEMBER}, {METADATA_MEMBER} and {WEIGHTS_H5} are accepted.",
            details={"member": info.filename},
        )
    if info.flag_bits & ENCRYPTED_FLAG:
        raise EncryptedMember(f"The .keras archive's {info.filename} is encrypted.")
    if info.compress_type not in COMPRESSIONS:
        raise MalformedModel(
            f"The .keras archive's {info.filename} is compressed with a method Keras does not "
            "use (only stored or deflated members are read)."
        )
    if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        raise MalformedModel(f"The .keras archive's {info.filename} has inconsistent sizes.")
    if info.filename in JSON_MEMBERS and info.file_size > limits.max_json_bytes:
        raise _json_too_large(info.filename, limits)
    _check_size(info.filename, info.file_size, info.compress_size, limits)


def _check_size(name: str, size: int, stored: int, limits: ReadLimits) -> None:
    """`size` bytes out of `stored` bytes in: at most the member cap, and (past the floor) at
    most `max_expansion` times what is stored."""
    over_cap = size > limits.max_member_bytes
    over_ratio = size > limits.expansion_floor_bytes and size > limits.max_expansion * max(
        stored, 1
    )
    if over_cap or over_ratio:
        raise DecompressionBomb(
            f"The .keras archive's {name} expands to more than the explainer accepts "
            f"({size:,} bytes or more from {stored:,} stored); it is refused as a "
            "decompression bomb.",
            details={"member": name, "bytes": size, "stored": stored},
        )


def _json_too_large(name: str, limits: ReadLimits) -> JsonTooLarge:
    return JsonTooLarge(
        f"The .keras archive's {name} is larger than {limits.max_json_bytes:,} bytes; Keras "
        "configs are far smaller.",
        details={"member": name, "limit": limits.max_json_bytes},
    )
