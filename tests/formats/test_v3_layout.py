"""Where each layer's group sits in a `.keras` weights file (app.formats.v3_layout), held
against files the writers wrote (tests/writers/files): tf.keras 2.12-2.13 numbered a layer
holding weights twice (`dense`, `dense_2`), Keras 3 once (`dense`, `dense_1`).

The expected groups are read off the files with h5py by hand (`h5py.File(...).visit(print)`).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import h5py
import pytest

from app.check.keras3_files import write_keras3_copy
from app.formats import ReadLimits, read_model
from app.formats.config import parse_model
from app.formats.v3_layout import place_layers

FILES = Path(__file__).parent.parent / "writers" / "files"
IN_PROCESS = ReadLimits(isolate_hdf5=False)
KERAS_3_WRITERS = sorted(p.name for p in FILES.glob("keras-3.*"))


def _stored_paths(path: Path) -> dict[str, list[str]]:
    with read_model(path, IN_PROCESS) as loaded:
        return {
            node.name: [w.path for w in node.stored or []]
            for _, node in loaded.graph.walk()
            if node.inner is None
        }


def test_read_tf_keras_2_12_gives_the_second_dense_the_group_numbered_2():
    stored = _stored_paths(FILES / "tf.keras-2.12" / "core.keras")
    group = "_layer_checkpoint_dependencies"
    assert stored["dense"] == [f"{group}/dense/vars/0", f"{group}/dense/vars/1"]
    assert stored["dense_1"] == [f"{group}/dense_2/vars/0"]  # use_bias=False: a kernel only


def test_read_tf_keras_2_13_nested_models_number_their_own_layers():
    stored = _stored_paths(FILES / "tf.keras-2.13" / "nested_shared.keras")
    group = "_layer_checkpoint_dependencies"
    assert stored["head"] == [f"{group}/dense_2/vars/0", f"{group}/dense_2/vars/1"]
    assert stored["dense_4"] == [
        f"{group}/functional/{group}/dense/vars/0",
        f"{group}/functional/{group}/dense/vars/1",
    ]
    assert len(stored["batch_normalization_5"]) == 3  # center=False: no beta


def _copy_groups(source: Path, tmp_path: Path) -> dict[str, tuple[int, ...]]:
    copy = tmp_path / "copy.keras"
    write_keras3_copy(source, "keras_v3", copy)
    with zipfile.ZipFile(copy) as archive:
        data = archive.read("model.weights.h5")
    found: dict[str, tuple[int, ...]] = {}
    with h5py.File(io.BytesIO(data), "r") as h5:
        h5.visititems(
            lambda name, item: (
                found.__setitem__(name, item.shape) if isinstance(item, h5py.Dataset) else None
            )
        )
    return found


def test_keras3_copy_puts_tf_keras_2_12_groups_where_keras_3_looks(tmp_path):
    found = _copy_groups(FILES / "tf.keras-2.12" / "nested_shared.keras", tmp_path)
    assert found == {
        "layers/dense/vars/0": (4, 4),
        "layers/dense/vars/1": (4,),
        "layers/dense_1/vars/0": (8, 1),  # written at dense_2
        "layers/dense_1/vars/1": (1,),
        "layers/functional/layers/dense/vars/0": (3, 2),
        "layers/functional/layers/dense/vars/1": (2,),
        "layers/sequential/layers/dense/vars/0": (4, 3),
        "layers/sequential/layers/dense/vars/1": (3,),
        "layers/sequential/layers/batch_normalization/vars/0": (3,),
        "layers/sequential/layers/batch_normalization/vars/1": (3,),
        "layers/sequential/layers/batch_normalization/vars/2": (3,),
    }


@pytest.mark.parametrize("writer", KERAS_3_WRITERS)
def test_keras3_paths_are_where_keras_3_wrote_every_group(writer):
    """Keras 3 wrote these files: each layer's Keras 3 path is where its group is."""
    checked = 0
    for path in sorted((FILES / writer).glob("*.keras")):
        with zipfile.ZipFile(path) as archive:
            graph = parse_model(json.loads(archive.read("config.json")))
            data = archive.read("model.weights.h5")
        with h5py.File(io.BytesIO(data), "r") as h5:
            for placed in place_layers(graph, h5):
                assert placed.group is not None, (path.name, placed.node.name)
                assert placed.group.name == f"/{placed.keras3_path}", path.name
                checked += 1
    assert checked > 100
