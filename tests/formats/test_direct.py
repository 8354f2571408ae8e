"""A contiguous weight's values read straight from the file (`app.formats.direct`): the same
numbers as Keras' `get_weights()`, by whole array and by the statistics' blocks; anything
that is not one plain byte range of the file goes through h5py."""

from __future__ import annotations

import zipfile

import h5py
import numpy as np
import pytest

from app.analysis.stats import value_blocks
from app.formats import read_model
from app.formats.direct import DirectArray, direct_values
from app.formats.hdf5 import stored_weight
from app.safety.scanned import FileBytes
from tests.formats.test_legacy_h5 import write_keras2_h5
from tests.support.kerascompare import resolved, weights_in_order
from tests.support.models import build


def _stored(loaded) -> list:
    return weights_in_order(resolved(loaded))


def _assert_direct_equal_keras(path, model) -> None:
    with read_model(path) as loaded:
        weights = _stored(loaded)
        expected = model.get_weights()
        assert len(weights) == len(expected)
        for weight, keras_values in zip(weights, expected, strict=True):
            assert isinstance(weight.values, DirectArray)
            np.testing.assert_array_equal(weight.values[()], keras_values)
            assert weight.values[()].dtype == keras_values.dtype
            for block in value_blocks(weight.values.shape, per_block=3):
                np.testing.assert_array_equal(weight.values[block], keras_values[block])


@pytest.mark.parametrize("name", ["conv_bn", "lstm", "branches_and_shared"])
def test_keras_v3_weights_read_directly_equal_keras(name, tmp_path):
    model = build(name)
    model.save(tmp_path / "model.keras")
    _assert_direct_equal_keras(tmp_path / "model.keras", model)


def test_legacy_h5_weights_read_directly_equal_keras(tmp_path):
    model = build("conv_bn")
    model.save(tmp_path / "model.h5")
    _assert_direct_equal_keras(tmp_path / "model.h5", model)


def test_compressed_archive_weights_read_directly_from_the_inflated_copy(tmp_path):
    model = build("conv_bn")
    model.save(tmp_path / "stored.keras")
    with (
        zipfile.ZipFile(tmp_path / "stored.keras") as src,
        zipfile.ZipFile(tmp_path / "model.keras", "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    _assert_direct_equal_keras(tmp_path / "model.keras", model)


def test_chunked_weights_are_read_through_h5py(tmp_path):
    model = build("dense_bn")
    write_keras2_h5(model, tmp_path / "model.h5")
    with h5py.File(tmp_path / "model.h5", "a") as h5:  # the first kernel again, compressed
        name = _first_kernel(h5, model)
        kernel = h5[name][()]
        del h5[name]
        h5.create_dataset(name, data=kernel, chunks=(1, kernel.shape[1]), compression=1)
    with read_model(tmp_path / "model.h5") as loaded:
        weights = _stored(loaded)
        assert isinstance(weights[0].values, h5py.Dataset)
        np.testing.assert_array_equal(weights[0].values[()], model.get_weights()[0])
        assert all(isinstance(w.values, DirectArray) for w in weights[1:])


def _first_kernel(h5: h5py.File, model) -> str:
    """The path of the model's first layer's kernel: by the layer's name, not by the file's
    (alphabetical) order, in which `dense_10` comes before `dense_9` (Keras numbers layer
    names as the test session builds them)."""
    first = model.layers[0].name
    [name] = [n for n in _datasets(h5) if n == f"model_weights/{first}/{first}/kernel:0"]
    return name


def _datasets(h5: h5py.File) -> list[str]:
    found: list[str] = []
    h5.visititems(lambda name, item: found.append(name) if isinstance(item, h5py.Dataset) else None)
    return sorted(found)


def _image(path) -> FileBytes:
    fh = open(path, "rb")  # noqa: SIM115 (closed by the test's end: pytest checks no leak)
    return FileBytes(fh, 0, path.stat().st_size)


def test_user_block_is_counted_in_the_offset(tmp_path):
    values = np.arange(24, dtype=">f4").reshape(2, 3, 4)  # big-endian too
    with h5py.File(tmp_path / "ub.h5", "w", userblock_size=512) as h5:
        h5["w"] = values
    image = _image(tmp_path / "ub.h5")
    with image.fh, h5py.File(tmp_path / "ub.h5", "r") as h5:
        direct = direct_values(h5["w"], image)
        assert isinstance(direct, DirectArray)
        np.testing.assert_array_equal(direct[()], values)
        np.testing.assert_array_equal(direct[1, 2], values[1, 2])
        np.testing.assert_array_equal(direct[-1, 1:], values[-1, 1:])
        np.testing.assert_array_equal(np.asarray(direct), values)


def test_other_indexes_read_the_whole_array(tmp_path):
    values = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    with h5py.File(tmp_path / "w.h5", "w") as h5:
        h5["w"] = values
    image = _image(tmp_path / "w.h5")
    with image.fh, h5py.File(tmp_path / "w.h5", "r") as h5:
        direct = direct_values(h5["w"], image)
        for key in [(slice(None, None, 2),), (..., 1), (1, slice(0, 4), 2), ([0, 2],), ()]:
            np.testing.assert_array_equal(direct[key], values[key])
        with pytest.raises(IndexError):
            direct[3]


def test_unwritten_empty_and_bool_datasets_are_not_read_directly(tmp_path):
    with h5py.File(tmp_path / "w.h5", "w") as h5:
        h5.create_dataset("unwritten", shape=(4,), dtype="f4")
        h5["empty"] = np.zeros((0, 3), dtype=np.float32)
        h5["flags"] = np.array([True, False])
    image = _image(tmp_path / "w.h5")
    with image.fh, h5py.File(tmp_path / "w.h5", "r") as h5:
        for name in ("unwritten", "empty", "flags"):
            assert direct_values(h5[name], image) is None


def test_a_scalar_weight_is_read_directly_or_through_h5py(tmp_path):
    """A 0-d dataset has no len(): the reader must not ask a DirectArray for its truth."""
    with h5py.File(tmp_path / "w.h5", "w") as h5:
        h5["w"] = np.float32(2.5)
    image = _image(tmp_path / "w.h5")
    with image.fh, h5py.File(tmp_path / "w.h5", "r") as h5:
        stored = stored_weight(h5["w"], "vars/0", image)
        assert stored.shape == ()
        assert float(np.asarray(stored.values[()])) == 2.5


def test_a_dataset_outside_the_image_is_not_read_directly(tmp_path):
    with h5py.File(tmp_path / "w.h5", "w") as h5:
        h5["w"] = np.ones(1000, dtype=np.float32)
    image = _image(tmp_path / "w.h5")
    with image.fh, h5py.File(tmp_path / "w.h5", "r") as h5:
        offset = h5["w"].id.get_offset()
        short = FileBytes(image.fh, 0, offset + 3999)  # one byte short of the values
        assert direct_values(h5["w"], short) is None
        assert direct_values(h5["w"], image) is not None


def test_a_block_is_read_into_the_buffer_given(tmp_path):
    """The statistics read block after block into one buffer (`read_block`): the block's
    values, a view of the buffer's bytes; a key that is not one run, or a block that does
    not fit, is read as `direct[key]`."""
    values = np.arange(60, dtype=">f4").reshape(3, 4, 5)
    with h5py.File(tmp_path / "w.h5", "w") as h5:
        h5["w"] = values
    image = _image(tmp_path / "w.h5")
    buffer = np.zeros(64, dtype=np.uint8)
    with image.fh, h5py.File(tmp_path / "w.h5", "r") as h5:
        direct = direct_values(h5["w"], image)
        block = direct.read_block((1, slice(0, 3)), buffer)
        np.testing.assert_array_equal(block, values[1, 0:3])
        assert block.dtype == values.dtype and np.shares_memory(block, buffer)
        for key in [(slice(None, None, 2),), (slice(0, 2),)]:  # not one run; 160 bytes
            other = direct.read_block(key, buffer)
            np.testing.assert_array_equal(other, values[key])
            assert not np.shares_memory(other, buffer)
