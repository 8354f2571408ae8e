"""The `.keras` zip under attack: zip-slip and odd names, members Keras does not write,
duplicates, encryption, compression methods, and decompression bombs, declared or real."""

from __future__ import annotations

import io
import os
import select
import struct
import warnings
import zipfile

import pytest

from app import siblings
from app.errors import (
    DecompressionBomb,
    DuplicateMember,
    EncryptedMember,
    JsonTooLarge,
    MalformedModel,
    UnexpectedMember,
    UnsafeMemberName,
)
from app.formats import loaded as loaded_models
from app.formats import read_model
from app.safety import keras_v3, member
from app.safety.archive import copy_member
from app.safety.limits import ReadLimits
from tests.support.hostile import save_base

# The reader itself, its library errors translated with their cause (no throwaway process).
DIRECT = ReadLimits(isolate_hdf5=False)

MiB = 1 << 20
CENTRAL_HEADER = b"PK\x01\x02"
LOCAL_HEADER = b"PK\x03\x04"


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    """The members of a real `.keras` file, as (name, bytes), in Keras' order."""
    saved = save_base(tmp_path_factory.mktemp("base"))
    with zipfile.ZipFile(saved.keras_path) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def write_zip(path, entries, compression=zipfile.ZIP_STORED):
    """An archive of `entries` exactly as given: duplicates included."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", compression) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return path


def renamed(data: bytes, old: str, new: str) -> bytes:
    """The archive with a member name changed in place (local and central headers alike);
    zipfile itself would not write most hostile names."""
    assert len(old) == len(new.encode()) and data.count(old.encode()) == 2
    return data.replace(old.encode(), new.encode())


@pytest.mark.parametrize(
    "name",
    ["../config.json", "/etc/cron.d/x", "C:/evil.json", "a\\..\\b.json", "assets/../../x",
     "x\x01y.json", "./config.json", "assets//vocab", " config.json"],
)  # fmt: skip
def test_read_keras_v3_refuses_unsafe_member_names(members, tmp_path, name):
    placeholder = "q" * len(name.encode())
    data = write_zip(tmp_path / "a.keras", [*members, (placeholder, b"x")]).read_bytes()
    (tmp_path / "b.keras").write_bytes(renamed(data, placeholder, name))
    with pytest.raises(UnsafeMemberName) as info:
        read_model(tmp_path / "b.keras")
    assert (info.value.code, info.value.status) == ("unsafe-member-name", 400)


@pytest.mark.parametrize(
    "name", ["assets/vocabulary.txt", "evil.py", "model.weights.h5.bak", "Config.json"]
)
def test_read_keras_v3_refuses_members_keras_does_not_write(members, tmp_path, name):
    path = write_zip(tmp_path / "a.keras", [*members, (name, b"x")])
    with pytest.raises(UnexpectedMember) as info:
        read_model(path)
    assert info.value.details == {"member": name}


def test_read_keras_v3_refuses_archive_declaring_many_members(tmp_path):
    path = write_zip(tmp_path / "a.keras", [(f"m{i}", b"") for i in range(20)])
    with pytest.raises(UnexpectedMember) as info:
        read_model(path)
    assert info.value.details == {"members": 20}


def lie_about_member_count(data: bytes, count: int) -> bytes:
    """The archive with its end record's two member counts set to `count`."""
    at = data.rfind(b"PK\x05\x06")
    return data[: at + 8] + struct.pack("<HH", count, count) + data[at + 12 :]


def test_read_keras_v3_counts_the_members_the_directory_holds_not_those_declared(tmp_path):
    """An end record saying 3 over a directory of 2,000 entries: refused from the entries
    counted (it stops at the ninth), before zipfile builds an object for each."""
    path = write_zip(tmp_path / "a.keras", [(f"m{i}", b"") for i in range(2_000)])
    (tmp_path / "b.keras").write_bytes(lie_about_member_count(path.read_bytes(), 3))
    with pytest.raises(UnexpectedMember) as info:
        read_model(tmp_path / "b.keras", limits=DIRECT)
    assert info.value.details == {"members": 9}  # MAX_MEMBERS + 1: counting stopped there
    assert "more than 8 members" in info.value.message


def test_read_keras_v3_counts_members_behind_a_zip64_end_record(members, tmp_path):
    path = tmp_path / "a.keras"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(12):
            archive.writestr(f"m{i}", b"")
        archive._didModify = True  # noqa: SLF001
        zipfile.ZIP64_LIMIT, limit = 0, zipfile.ZIP64_LIMIT  # force the Zip64 end records
        try:
            archive.close()
        finally:
            zipfile.ZIP64_LIMIT = limit
    assert b"PK\x06\x06" in path.read_bytes()
    (tmp_path / "b.keras").write_bytes(lie_about_member_count(path.read_bytes(), 3))
    with pytest.raises(UnexpectedMember) as info:
        read_model(tmp_path / "b.keras", limits=DIRECT)
    assert info.value.details == {"members": 12}  # the Zip64 record's count


@pytest.mark.parametrize("name", ["config.json", "model.weights.h5", "metadata.json"])
def test_read_keras_v3_refuses_duplicate_members(members, tmp_path, name):
    second = dict(members)[name]
    path = write_zip(tmp_path / "a.keras", [*members, (name, second)])
    with pytest.raises(DuplicateMember) as info:
        read_model(path)
    assert info.value.code == "duplicate-member"


def test_read_keras_v3_refuses_encrypted_member(members, tmp_path):
    data = bytearray(write_zip(tmp_path / "a.keras", members).read_bytes())
    for header, flag_at in ((LOCAL_HEADER, 6), (CENTRAL_HEADER, 8)):
        at = data.find(header)  # the first member's headers
        (flags,) = struct.unpack_from("<H", data, at + flag_at)
        struct.pack_into("<H", data, at + flag_at, flags | 0x1)
    (tmp_path / "b.keras").write_bytes(data)
    with pytest.raises(EncryptedMember):
        read_model(tmp_path / "b.keras")


def test_read_keras_v3_refuses_compression_keras_never_uses(members, tmp_path):
    path = write_zip(tmp_path / "a.keras", members, zipfile.ZIP_BZIP2)
    with pytest.raises(MalformedModel, match="method Keras does not use"):
        read_model(path)


def test_read_keras_v3_refuses_declared_weights_bomb(members, tmp_path):
    bomb = [(n, d) for n, d in members if n != "model.weights.h5"]
    bomb.append(("model.weights.h5", bytes(16 * MiB)))  # deflates to about 16 KB
    path = write_zip(tmp_path / "a.keras", bomb, zipfile.ZIP_DEFLATED)
    limits = ReadLimits(expansion_floor_bytes=1 * MiB)  # 1000× past the floor
    with pytest.raises(DecompressionBomb) as info:
        read_model(path, limits)
    assert (info.value.code, info.value.status) == ("decompression-bomb", 413)
    assert info.value.details["bytes"] == 16 * MiB
    assert info.value.details["stored"] < 100 * 1024
    with pytest.raises(DecompressionBomb):
        read_model(path, ReadLimits(max_member_bytes=8 * MiB))


def test_read_keras_v3_refuses_declared_config_bomb(members, tmp_path):
    bomb = [(n, d) for n, d in members if n != "config.json"]
    bomb.insert(0, ("config.json", b" " * (17 * MiB)))
    path = write_zip(tmp_path / "a.keras", bomb, zipfile.ZIP_DEFLATED)
    with pytest.raises(JsonTooLarge):
        read_model(path)


def test_copy_member_stops_at_the_cap_whatever_the_header_says(tmp_path):
    entries = [("model.weights.h5", bytes(4 * MiB))]
    path = write_zip(tmp_path / "a.zip", entries, zipfile.ZIP_DEFLATED)
    target = io.BytesIO()
    with zipfile.ZipFile(path) as archive, pytest.raises(DecompressionBomb):
        copy_member(archive, archive.infolist()[0], target, ReadLimits(max_member_bytes=MiB))
    assert target.tell() <= MiB


def test_read_keras_v3_with_lying_size_header_is_malformed(members, tmp_path):
    """A central directory that understates a member's size: zipfile stops at the stated size
    and the checksum fails; nothing past it is produced."""
    data = bytearray(write_zip(tmp_path / "a.keras", members, zipfile.ZIP_DEFLATED).read_bytes())
    struct.pack_into("<I", data, _central_entry(data, "config.json") + 24, 10)  # 10 bytes, says
    (tmp_path / "b.keras").write_bytes(data)
    with pytest.raises(MalformedModel) as info:
        read_model(tmp_path / "b.keras", DIRECT)
    assert info.value.code == "malformed-model"
    assert isinstance(info.value.__cause__, zipfile.BadZipFile)


def _central_entry(data: bytearray, name: str) -> int:
    """Where the central directory entry of member `name` starts (its name is at +46)."""
    at = data.find(CENTRAL_HEADER)
    while data[at + 46 : at + 46 + len(name)] != name.encode():
        at = data.find(CENTRAL_HEADER, at + 4)
    return at


def test_read_keras_v3_deflated_archive_still_reads(members, tmp_path):
    path = write_zip(tmp_path / "a.keras", members, zipfile.ZIP_DEFLATED)
    with read_model(path) as loaded:
        assert loaded.refusals == []


def edited_member(data: bytes, name: str, at: int) -> bytes:
    """The archive with one byte of member `name` changed, its recorded CRC-32 left as it was
    (what an edit with a hex editor does)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
    name_length, extra_length = struct.unpack(
        "<HH", data[info.header_offset + 26 : info.header_offset + 30]
    )
    start = info.header_offset + 30 + name_length + extra_length
    assert info.compress_type == zipfile.ZIP_STORED and at < info.file_size
    return data[: start + at] + bytes([data[start + at] ^ 0xFF]) + data[start + at + 1 :]


@pytest.mark.parametrize("member", ["model.weights.h5", "config.json"])
def test_read_keras_v3_refuses_a_member_that_does_not_match_its_crc(members, tmp_path, member):
    data = write_zip(tmp_path / "a.keras", members).read_bytes()
    at = 3 if member == "model.weights.h5" else 1  # inside the HDF5 signature; the JSON's
    (tmp_path / "b.keras").write_bytes(edited_member(data, member, at))
    with pytest.raises(MalformedModel) as info:
        read_model(tmp_path / "b.keras", limits=DIRECT)
    assert info.value.code == "malformed-model"
    assert "checksum" in info.value.message or "CRC" in info.value.message


def test_read_keras_v3_refuses_a_weight_value_that_does_not_match_its_crc(members, tmp_path):
    """A byte changed where the walk does not look (the weights file's last byte: a value):
    the walk passes while the CRC-32 is summed beside it, and the checksum refuses the file."""
    data = write_zip(tmp_path / "a.keras", members).read_bytes()
    size = len(dict(members)["model.weights.h5"])
    (tmp_path / "b.keras").write_bytes(edited_member(data, "model.weights.h5", size - 1))
    with pytest.raises(MalformedModel) as info:
        read_model(tmp_path / "b.keras", limits=DIRECT)
    assert "checksum" in info.value.message


@pytest.fixture
def reading_process(monkeypatch):
    """This process as a reading process, which `siblings.beside` forks siblings from (its
    answer pipe: one nobody reads), though TensorFlow is imported here (the sibling, which
    only sums bytes, never touches it)."""
    reader, writer = os.pipe()
    monkeypatch.setattr(siblings, "answers_fd", writer)
    monkeypatch.setattr(siblings, "forkable", lambda: True)
    monkeypatch.setattr(loaded_models, "LEFT_TO_EXIT", [])  # a reading process's exit's
    yield
    for resources, _ in loaded_models.LEFT_TO_EXIT:
        resources.close()
    os.close(reader), os.close(writer)


@pytest.mark.parametrize("edited", [False, True])
def test_a_reading_process_walks_the_weights_file_while_a_sibling_sums_its_crc(
    members, tmp_path, monkeypatch, reading_process, edited
):
    """In a reading process the CRC-32 is summed in a sibling process (on the other core, not
    at Python's lock), and the HDF5 walk does not wait for it: here the sibling cannot sum
    before the walk has begun (after 10 s it answers a wrong sum). A value changed (the
    weights file's last byte) is refused by the sibling's sum. On the old code, a thread
    summed the bytes before the walk began (no `member_crc`: the test fails at once)."""
    data = write_zip(tmp_path / "a.keras", members).read_bytes()
    if edited:
        size = len(dict(members)["model.weights.h5"])
        data = edited_member(data, "model.weights.h5", size - 1)
    (tmp_path / "b.keras").write_bytes(data)
    gate, opened = os.pipe()
    real_crc, real_walk = member.member_crc, keras_v3.scan_hdf5

    def member_crc(*args):  # in the sibling
        walked = select.select([gate], [], [], 10)[0]
        return real_crc(*args) if walked else 0

    def scan_hdf5(*args):
        os.write(opened, b"w")
        return real_walk(*args)

    monkeypatch.setattr(member, "member_crc", member_crc)
    monkeypatch.setattr(keras_v3, "scan_hdf5", scan_hdf5)
    try:
        if edited:
            with pytest.raises(MalformedModel, match="checksum"):
                read_model(tmp_path / "b.keras", limits=DIRECT)
        else:
            with read_model(tmp_path / "b.keras", limits=DIRECT) as loaded:
                assert loaded.refusals == []
    finally:
        os.close(gate), os.close(opened)
