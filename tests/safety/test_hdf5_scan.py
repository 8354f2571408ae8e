"""The HDF5 scan under attack, in a legacy `.h5` file and in a `.keras` archive's weights:
links and external storage at any depth, virtual datasets, non-numeric data, filters that
would load a plugin, shape bombs, oversized attributes, and heap-reference amplification."""

from __future__ import annotations

import resource
import shutil
import struct
import subprocess
import sys
import textwrap
import zipfile

import h5py
import numpy as np
import pytest
from h5py import h5d, h5p, h5s, h5t, h5z

from app.errors import (
    DecompressionBomb,
    ExternalStorage,
    MalformedModel,
    OversizedAttribute,
    ShapeBomb,
    UnknownFilter,
    UnsafeFile,
    UnsafeLink,
    UnsupportedDataType,
)
from app.explain import read_isolated
from app.formats import read_model
from app.formats.hdf5 import walked_members
from app.safety.hdf5_scan import DatasetFacts, Walked, scan_hdf5
from app.safety.limits import ReadLimits
from tests.support.hostile import save_base, with_member
from tests.support.kerasref import keras

CONTAINERS = ("legacy_h5", "keras_v3")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return save_base(tmp_path_factory.mktemp("base"))


def hostile(saved, tmp_path, container, change):
    """A copy of the base file whose HDF5 (the file, or the archive's weights) `change` edits."""
    h5_path = tmp_path / "weights.h5"
    if container == "legacy_h5":
        shutil.copyfile(saved.h5_path, h5_path)
    else:
        with zipfile.ZipFile(saved.keras_path) as archive:
            h5_path.write_bytes(archive.read("model.weights.h5"))
    with h5py.File(h5_path, "a") as h5:
        change(h5, deepest_group(h5), tmp_path)
    if container == "legacy_h5":
        return h5_path
    return with_member(saved.keras_path, tmp_path, "model.weights.h5", h5_path.read_bytes())


def deepest_group(h5):
    """A group far from the root: the scan must reach it, the readers never look there."""
    groups = []
    h5.visititems(lambda name, obj: groups.append(obj) if isinstance(obj, h5py.Group) else None)
    return max(groups, key=lambda g: g.name.count("/"))


def soft_link(h5, group, folder):
    group["evil"] = h5py.SoftLink("/")


def external_link(h5, group, folder):
    group["evil"] = h5py.ExternalLink("/etc/passwd", "/")


def external_storage(h5, group, folder):
    (folder / "raw.bin").write_bytes(bytes(40))
    group.create_dataset(
        "evil", shape=(10,), dtype="f4", external=[(str(folder / "raw.bin"), 0, 40)]
    )


def virtual_dataset(h5, group, folder):
    with h5py.File(folder / "source.h5", "w") as source:
        source["data"] = np.arange(4, dtype="f4")
    layout = h5py.VirtualLayout(shape=(4,), dtype="f4")
    layout[:] = h5py.VirtualSource(str(folder / "source.h5"), "data", shape=(4,))
    group.create_virtual_dataset("evil", layout)


def string_dataset(h5, group, folder):
    group["evil"] = np.array([b"import os"])


def compound_dataset(h5, group, folder):
    group["evil"] = np.zeros(2, dtype=[("a", "f4"), ("b", "i4")])


def reference_attribute(h5, group, folder):
    group.attrs["evil"] = h5.ref


def named_datatype(h5, group, folder):
    group["evil"] = np.dtype("f4")


def scaleoffset_filter(h5, group, folder):
    group.create_dataset("evil", data=np.arange(100, dtype="i4"), scaleoffset=0)


def plugin_filter(h5, group, folder):
    """Filter 32004 (LZ4) is not built in: reading it would make HDF5 look for a plugin."""
    plist = h5p.create(h5p.DATASET_CREATE)
    plist.set_chunk((10,))
    plist.set_filter(32004, h5z.FLAG_OPTIONAL, (1,))
    h5d.create(group.id, b"evil", h5t.NATIVE_FLOAT, h5s.create_simple((10,)), dcpl=plist)


def shape_bomb_over_cap(h5, group, folder):
    group.create_dataset("evil", shape=(100_000, 100_000), dtype="f4", chunks=(1000, 1000))


def shape_bomb_by_ratio(h5, group, folder):
    group.create_dataset("evil", shape=(20_000, 20_000), dtype="f4", chunks=(1000, 1000))


def chunk_bomb(h5, group, folder):
    """One deflated chunk of 64 MiB, never written (so it stores nothing): refused from the
    chunk shape, whatever the whole dataset's ratio."""
    group.create_dataset(
        "evil", shape=(4096, 4096), dtype="f4", chunks=(4096, 4096), compression="gzip"
    )


def undecodable_name(h5, group, folder):
    """A member named by bytes that are not UTF-8, for which h5py hands back the bytes (the
    walk failed on them with an AttributeError, a 500)."""
    group.create_group(b"evil\xff")


def long_name_in_list(h5, group, folder):
    group.attrs["weight_names"] = ["x" * 2000, "y"]


CHANGES = {
    "soft-link": (soft_link, UnsafeLink),
    "external-link": (external_link, UnsafeLink),
    "external-storage": (external_storage, ExternalStorage),
    "virtual-dataset": (virtual_dataset, ExternalStorage),
    "string-dataset": (string_dataset, UnsupportedDataType),
    "compound-dataset": (compound_dataset, UnsupportedDataType),
    "reference-attribute": (reference_attribute, UnsupportedDataType),
    "named-datatype": (named_datatype, UnsupportedDataType),
    "scaleoffset-filter": (scaleoffset_filter, UnknownFilter),
    "plugin-filter": (plugin_filter, UnknownFilter),
    "shape-bomb-over-cap": (shape_bomb_over_cap, ShapeBomb),
    "shape-bomb-by-ratio": (shape_bomb_by_ratio, ShapeBomb),
    "long-name-in-list": (long_name_in_list, OversizedAttribute),
    "chunk-bomb": (chunk_bomb, DecompressionBomb),
    "undecodable-name": (undecodable_name, MalformedModel),
}


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_read_refuses_hostile_hdf5(saved, tmp_path, container, change):
    edit, error = CHANGES[change]
    path = hostile(saved, tmp_path, container, edit)
    with pytest.raises(error) as info:
        read_model(path)
    assert 400 <= info.value.status < 500
    assert info.value.code == error.code


@pytest.mark.parametrize("container", CONTAINERS)
def test_read_refuses_attribute_over_the_size_cap_before_reading_it(saved, tmp_path, container):
    path = hostile(
        saved, tmp_path, container, lambda h5, g, f: g.attrs.create("big", np.zeros(1000))
    )
    with pytest.raises(OversizedAttribute) as info:
        read_model(path, ReadLimits(max_attribute_bytes=6000))  # Keras' own stay below
    assert info.value.details["bytes"] == 1000 * 8


@pytest.mark.parametrize("container", CONTAINERS)
def test_read_refuses_too_many_attributes(saved, tmp_path, container):
    def many(h5, group, folder):
        for i in range(10):
            group.attrs[f"a{i}"] = i

    with pytest.raises(OversizedAttribute):
        read_model(hostile(saved, tmp_path, container, many), ReadLimits(max_attributes=8))


@pytest.mark.parametrize("container", CONTAINERS)
def test_read_refuses_too_many_objects(saved, tmp_path, container):
    with pytest.raises(UnsafeFile) as info:
        read_model(
            hostile(saved, tmp_path, container, lambda *a: None), ReadLimits(max_hdf5_objects=3)
        )
    assert info.value.code == "unsafe-file"


@pytest.mark.parametrize("container", CONTAINERS)
def test_read_follows_hard_link_cycles_once(saved, tmp_path, container):
    """A hard link back to the root makes the file a cycle: walked once, read as usual."""
    path = hostile(
        saved, tmp_path, container, lambda h5, group, f: group.__setitem__("loop", h5["/"])
    )
    with read_model(path) as loaded:
        assert loaded.refusals == []


@pytest.mark.parametrize("container", CONTAINERS)
def test_read_accepts_compressed_weights(saved, tmp_path, container):
    """Deflate and shuffle, as h5repack or h5py users write them, are no reason to refuse."""

    def recompress(h5, group, folder):
        h5.create_dataset(
            "extra", data=np.random.default_rng(0).random(1000), compression="gzip", shuffle=True
        )

    with read_model(hostile(saved, tmp_path, container, recompress)) as loaded:
        assert loaded.refusals == []


NAIVE_READ = textwrap.dedent(
    """
    import resource, sys
    import h5py
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    try:
        h5py.File(sys.argv[1], "r").attrs["names"]
        print("read")
    except (MemoryError, OSError) as exc:
        print("out of memory" if "memory" in str(exc) or isinstance(exc, MemoryError) else exc)
    """
)


def amplified(saved, tmp_path):
    """3,000 names that all point at one 1 MB heap object: 3 GB once read."""
    path = tmp_path / "amplified.h5"
    shutil.copyfile(saved.h5_path, path)
    with h5py.File(path, "a") as h5:
        h5.attrs["names"] = ["A" * 1_000_000] + ["b"] * 2999
    data = bytearray(path.read_bytes())
    big = data.find(struct.pack("<I", 1_000_000))
    for k in range(1, 3000):
        assert struct.unpack_from("<I", data, big + 16 * k)[0] == 1
        data[big + 16 * k : big + 16 * k + 16] = data[big : big + 16]
    path.write_bytes(data)
    return path


def test_read_refuses_heap_amplification_without_the_server_reading_it(saved, tmp_path):
    """Read naively by a process limited to 1 GiB, the names exhaust its memory; read through
    us, the throwaway process (limited alike) is refused and this process never allocates them."""
    path = amplified(saved, tmp_path)
    naive = subprocess.run(
        [sys.executable, "-c", NAIVE_READ, str(path)], capture_output=True, text=True, timeout=120
    )
    assert naive.stdout.strip() == "out of memory"
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(OversizedAttribute) as info:
        read_isolated(path, ReadLimits(isolation_memory_bytes=1 << 30))
    assert info.value.details == {"object": "'/'"}
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown_kib < 500_000


def test_read_refuses_long_lists_of_names_by_measure(saved, tmp_path):
    path = tmp_path / "names.h5"
    shutil.copyfile(saved.h5_path, path)
    with h5py.File(path, "a") as h5:
        h5.attrs["names"] = [f"layer_{i}" for i in range(2000)]  # 18,890 bytes in all
    with pytest.raises(OversizedAttribute) as info:
        read_model(path, ReadLimits(max_attribute_bytes=16_000))
    assert info.value.details["bytes"] == sum(len(f"layer_{i}") for i in range(2000))
    with read_model(path, ReadLimits(max_attribute_bytes=20_000)) as loaded:
        assert loaded.refusals == []


def test_the_scan_keeps_at_most_max_kept_objects_open_for_the_reader(tmp_path):
    """Each group's members are kept (open) for the reader only while all of them fit under
    `Walked.MAX_KEPT`: a file of many objects is walked as before, closing them."""
    path = tmp_path / "many.h5"
    with h5py.File(path, "w") as h5:
        for i in range(Walked.MAX_KEPT // 4 + 1):
            group = h5.create_group(f"g{i}")
            for j in range(4):
                group.create_dataset(f"d{j}", data=np.zeros(2, np.float32))
    with h5py.File(path, "r") as h5:
        walked = scan_hdf5(h5)
        assert walked.kept <= Walked.MAX_KEPT
        root = walked_members(h5, walked)  # the root's members: the first groups kept
        assert root is not None
        kept = [name for name, group in root.items() if walked_members(group, walked)]
        assert 0 < len(kept) < Walked.MAX_KEPT // 4 + 1
        assert list(walked_members(root[kept[0]], walked)) == ["d0", "d1", "d2", "d3"]
        assert walked_members(h5[kept[0]], walked) is None  # another object: asked of h5py


def test_the_reader_takes_the_facts_the_scan_asked_of_each_dataset_it_kept(tmp_path, monkeypatch):
    """The `.keras` reader asks h5py nothing again of a dataset the scan checked and kept
    (its creation property list, shape, dtype and layout: `DatasetFacts`)."""
    path = tmp_path / "m.keras"
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save(path)

    def asked_again(cls, dataset):
        raise AssertionError(f"{dataset.name} asked of h5py again")

    monkeypatch.setattr(DatasetFacts, "of", classmethod(asked_again))
    with read_model(path) as loaded:
        stored = [s for node in loaded.graph.layers for s in node.stored or []]
        assert [(s.shape, s.dtype) for s in stored] == [((3, 2), "float32"), ((2,), "float32")]
        assert np.asarray(stored[1].values).shape == (2,)
