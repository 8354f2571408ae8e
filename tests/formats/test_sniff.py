"""Format sniffing from bytes, never from the file name."""

from __future__ import annotations

import shutil

import h5py
import pytest

from app.errors import MalformedModel, UnsupportedFormat
from app.formats import ReadLimits, read_model, sniff_bytes, sniff_path
from tests.support.models import build

# The reader itself, its library errors translated with their cause (no throwaway process).
DIRECT = ReadLimits(isolate_hdf5=False)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
HDF5 = b"\x89HDF\r\n\x1a\n"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """One tiny model as .keras, legacy .h5 and to_json(), each under a misleading name."""
    folder = tmp_path_factory.mktemp("sniff")
    model = build("dense_bn")
    model.save(folder / "model.keras")
    model.save(folder / "model.h5")
    shutil.move(folder / "model.keras", folder / "archive.h5")
    shutil.move(folder / "model.h5", folder / "weights.keras")
    (folder / "spec.h5").write_text(model.to_json())
    return folder


@pytest.mark.parametrize(
    ("name", "expected"),
    [("archive.h5", "keras_v3"), ("weights.keras", "legacy_h5"), ("spec.h5", "spec_json")],
)
def test_sniff_path_reads_bytes_not_extension(saved, name, expected):
    assert sniff_path(saved / name) == expected
    with read_model(saved / name) as loaded:
        assert loaded.format == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"PK\x03\x04rest", "keras_v3"),
        (b"PK\x05\x06" + bytes(18), "keras_v3"),
        (HDF5 + bytes(100), "legacy_h5"),
        (b'{"class_name": "Sequential"}', "spec_json"),
        (b'  \n\t{"class_name": 1}', "spec_json"),
        (b'\xef\xbb\xbf{"a": 1}', "spec_json"),
        (b'"{\\"class_name\\": 1}"', "spec_json"),
    ],
)
def test_sniff_bytes_recognises_each_format(data, expected):
    assert sniff_bytes(data) == expected


@pytest.mark.parametrize("block", [512, 1024, 4096])
def test_sniff_path_finds_hdf5_after_user_block(tmp_path, block):
    path = tmp_path / "blocked.bin"
    with h5py.File(path, "w", userblock_size=block) as h5:
        h5.attrs["x"] = 1
    assert sniff_path(path) == "legacy_h5"
    assert sniff_bytes(path.read_bytes()) == "legacy_h5"


@pytest.mark.parametrize(
    "data", [PNG, b"hello, model", b"\x00\x01\x02", b"<html></html>", b"[1, 2, 3]"]
)
def test_sniff_bytes_refuses_other_content_naming_accepted_formats(data):
    with pytest.raises(UnsupportedFormat) as info:
        sniff_bytes(data)
    assert info.value.code == "unsupported-format"
    assert ".keras archive, legacy HDF5 (.h5/.hdf5), or the JSON of model.to_json()" in (
        info.value.message
    )


def test_sniff_path_refuses_png_named_h5(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(PNG + bytes(600))
    with pytest.raises(UnsupportedFormat):
        read_model(path)


def test_sniff_path_refuses_empty_file(tmp_path):
    path = tmp_path / "empty.keras"
    path.write_bytes(b"")
    with pytest.raises(UnsupportedFormat, match="empty"):
        sniff_path(path)
    with pytest.raises(UnsupportedFormat, match="empty"):
        sniff_bytes(b"")


def test_sniff_path_missing_file_is_malformed(tmp_path):
    with pytest.raises(MalformedModel) as info:
        sniff_path(tmp_path / "absent.h5")
    assert isinstance(info.value.__cause__, OSError)
    assert "No such file" not in info.value.message


@pytest.mark.parametrize(("name", "keep"), [("archive.h5", 64), ("weights.keras", 800)])
def test_read_model_truncated_file_sniffs_then_is_malformed(saved, tmp_path, name, keep):
    cut = tmp_path / "cut"
    cut.write_bytes((saved / name).read_bytes()[:keep])
    with pytest.raises(MalformedModel) as info:
        read_model(cut, DIRECT)
    assert info.value.code == "malformed-model"
    assert info.value.__cause__ is not None
    assert str(info.value.__cause__) not in info.value.message


def test_hdf5_signature_only_counts_at_allowed_offsets():
    assert sniff_bytes(b"x" * 512 + HDF5) == "legacy_h5"
    with pytest.raises(UnsupportedFormat):
        sniff_bytes(b"x" * 300 + HDF5 + bytes(400))
