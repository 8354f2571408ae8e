"""Polyglots, truncated files and random bytes: each a 4xx with its code, never a crash."""

from __future__ import annotations

import io
import json
import random
import shutil
import zipfile

import h5py
import pytest

from app.errors import ExplainerError, MalformedModel, PolyglotFile
from app.formats import read_model
from app.safety.sniff import HDF5_SIGNATURE, sniff_path
from tests.support.hostile import save_base


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return save_base(tmp_path_factory.mktemp("base"))


def small_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", "{}")
    return buffer.getvalue()


def test_read_refuses_hdf5_with_a_zip_appended(saved, tmp_path):
    """h5py reads the HDF5; zipfile (and Keras, which picks its loader by is_zipfile) the zip."""
    path = tmp_path / "both.h5"
    path.write_bytes(saved.h5_path.read_bytes() + small_zip())
    assert zipfile.is_zipfile(path)
    with h5py.File(path, "r"):
        pass
    with pytest.raises(PolyglotFile) as info:
        read_model(path)
    assert (info.value.code, info.value.status) == ("polyglot-file", 400)
    assert info.value.details == {"formats": ["legacy_h5", "keras_v3"]}


def test_read_refuses_spec_with_a_zip_appended(saved, tmp_path):
    path = tmp_path / "both.json"
    path.write_bytes(saved.spec.encode() + small_zip())
    with pytest.raises(PolyglotFile) as info:
        read_model(path)
    assert info.value.details == {"formats": ["spec_json", "keras_v3"]}


def test_read_spec_carrying_an_hdf5_superblock_is_read_as_hdf5(saved, tmp_path):
    """The superblock wins over the JSON (as in h5py): one format, and a damaged one."""
    text = saved.spec.encode()
    path = tmp_path / "both.json"
    path.write_bytes(text[:512].ljust(512, b" ") + HDF5_SIGNATURE + text[512:])
    assert sniff_path(path) == "legacy_h5"
    with pytest.raises(MalformedModel, match="HDF5 model file is damaged"):
        read_model(path)


def test_read_accepts_keras_archive_whose_weights_start_at_a_superblock_offset(saved, tmp_path):
    """Stored uncompressed at offset 512, the weights make the archive valid HDF5 as well, yet
    every reader takes it for the zip it starts as: no disagreement, no refusal."""
    with zipfile.ZipFile(saved.keras_path) as archive:
        weights, config = archive.read("model.weights.h5"), archive.read("config.json")
    header = 30 + len("metadata.json")
    padding = 512 - header - (30 + len("model.weights.h5")) - len('{"keras_version": ""}')
    metadata = json.dumps({"keras_version": " " * padding})
    path = tmp_path / "aligned.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", metadata)
        archive.writestr("model.weights.h5", weights)
        archive.writestr("config.json", config)
    assert path.read_bytes()[512 : 512 + 8] == HDF5_SIGNATURE
    with h5py.File(path, "r") as h5:
        assert "layers" in h5
    with read_model(path) as loaded:
        assert (loaded.format, loaded.refusals) == ("keras_v3", [])


@pytest.mark.parametrize("fmt", ["keras", "h5", "spec"])
@pytest.mark.parametrize("keep", [1, 8, 100, 0.25, 0.5, 0.9, -1])
def test_read_truncated_file_is_a_4xx(saved, tmp_path, fmt, keep):
    data = _file_bytes(saved, fmt)
    cut = {-1: len(data) - 1}.get(keep, keep if isinstance(keep, int) else int(len(data) * keep))
    path = tmp_path / "cut"
    path.write_bytes(data[:cut])
    with pytest.raises(ExplainerError) as info:
        read_model(path)
    assert 400 <= info.value.status < 500


def _file_bytes(saved, fmt):
    if fmt == "keras":
        return saved.keras_path.read_bytes()
    if fmt == "h5":
        return saved.h5_path.read_bytes()
    return saved.spec.encode()


@pytest.mark.parametrize(
    ("prefix", "code"),
    [
        (b"PK\x03\x04", "malformed-model"),
        (HDF5_SIGNATURE, "malformed-model"),
        (b"{", "invalid-spec"),
        (b"", "unsupported-format"),
    ],
)
@pytest.mark.parametrize("seed", range(5))
def test_read_random_bytes_is_a_4xx_with_its_code(tmp_path, prefix, code, seed):
    rng = random.Random(seed)
    body = bytes(rng.randrange(256) for _ in range(4096))
    if not prefix:
        body = b"\x00" + body  # no accepted magic, whatever the random bytes are
    path = tmp_path / "random"
    path.write_bytes(prefix + body)
    with pytest.raises(ExplainerError) as info:
        read_model(path)
    assert info.value.code == code


def test_read_copied_keras_file_without_its_extension_still_reads(saved, tmp_path):
    shutil.copyfile(saved.keras_path, tmp_path / "model.bin")
    with read_model(tmp_path / "model.bin") as loaded:
        assert loaded.format == "keras_v3"


def test_an_error_quoting_undecodable_text_has_a_utf8_message():
    """Found by bench/fuzz_api.py (a mutant of a legacy .h5, seed 1032): a byte 0x80 in the
    config's class name reached the message as a lone surrogate (text decoded with
    surrogateescape), which no JSON answer can encode: a 500. It is shown escaped."""
    error = MalformedModel("The top-level object is a `Sequentia\udc80`, not a model.")
    assert error.message == "The top-level object is a `Sequentia\\udc80`, not a model."
    error.message.encode("utf-8")
