"""The `.keras` reader against Keras: weight paths as saving_lib writes them, values, totals."""

from __future__ import annotations

import json
import os
import zipfile

import h5py
import numpy as np
import pytest

from app import siblings
from app.errors import MalformedModel, UnsupportedFormat
from app.formats import ReadLimits, keras_v3, read_model
from app.formats import loaded as loaded_models
from app.formats.direct import DirectArray
from app.safety.hdf5_scan import Walked
from tests.support.kerascompare import assert_weights_match_keras, resolved, weights_in_order
from tests.support.kerasref import keras
from tests.support.models import BUILDERS, build, layers, randomize_weights

# The reader itself, its library errors translated with their cause (no throwaway process).
DIRECT = ReadLimits(isolate_hdf5=False)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_read_keras_v3_matches_keras_weights(name, tmp_path):
    model = build(name)
    model.save(tmp_path / "model.keras")
    with read_model(tmp_path / "model.keras") as loaded:
        assert loaded.format == "keras_v3"
        assert_weights_match_keras(resolved(loaded), model, values=True)


def test_read_keras_v3_takes_each_group_the_scan_walked_from_it(tmp_path, monkeypatch):
    """The reader lists no group's members of h5py again: the scan's walk gave them."""
    asked = []
    monkeypatch.setattr(keras_v3, "hard_children", lambda group: asked.append(group.name))
    model = build("branches_and_shared")
    model.save(tmp_path / "model.keras")
    with read_model(tmp_path / "model.keras") as loaded:
        assert_weights_match_keras(resolved(loaded), model, values=True)
    assert asked == []


def test_read_keras_v3_past_the_objects_the_scan_keeps_asks_h5py(tmp_path, monkeypatch):
    """Past `Walked.MAX_KEPT` objects kept open, the other groups are listed by h5py, with
    the same weights found."""
    monkeypatch.setattr(Walked, "MAX_KEPT", 6)
    model = build("branches_and_shared")
    model.save(tmp_path / "model.keras")
    with read_model(tmp_path / "model.keras") as loaded:
        assert_weights_match_keras(resolved(loaded), model, values=True)


def test_read_keras_v3_reports_writer_version(tmp_path):
    build("dense_bn").save(tmp_path / "model.keras")
    with read_model(tmp_path / "model.keras") as loaded:
        assert loaded.keras_version == keras.__version__
        assert loaded.backend is None


def test_read_keras_v3_names_groups_by_class_not_by_layer_name(tmp_path):
    model = randomize_weights(
        keras.Sequential(
            [
                keras.Input((3,)),
                layers.Dense(2, name="zeta"),
                layers.BatchNormalization(name="alpha"),
                layers.Dense(2, name="beta"),
            ]
        )
    )
    model.save(tmp_path / "model.keras")
    with read_model(tmp_path / "model.keras") as loaded:
        paths = {n.name: [s.path for s in n.stored] for _, n in loaded.graph.walk()}
        names = {n.name: [s.name for s in n.stored] for _, n in loaded.graph.walk()}
    assert paths["zeta"] == ["layers/dense/vars/0", "layers/dense/vars/1"]
    assert paths["beta"] == ["layers/dense_1/vars/0", "layers/dense_1/vars/1"]
    assert paths["alpha"] == [f"layers/batch_normalization/vars/{i}" for i in range(4)]
    assert names["beta"] == ["vars/0", "vars/1"]


def test_read_keras_v3_follows_nested_model_layers(tmp_path):
    build("sequential_in_functional").save(tmp_path / "model.keras")
    with read_model(tmp_path / "model.keras") as loaded:
        inner = loaded.graph.layer("inner_seq").inner
        stored = {n.class_name: [s.path for s in n.stored] for n in inner.keras_layers()}
    assert stored["Dense"] == [f"layers/sequential/layers/dense/vars/{i}" for i in range(2)]
    assert stored["BatchNormalization"][0] == "layers/sequential/layers/batch_normalization/vars/0"


def test_read_keras_v3_names_sublayer_weights_by_owner(tmp_path):
    build("bidirectional_gru").save(tmp_path / "model.keras")
    with read_model(tmp_path / "model.keras") as loaded:
        names = [s.name for s in loaded.graph.layers[1].stored]
    assert sorted(names) == sorted(
        f"{side}_layer/cell/vars/{i}" for side in ("forward", "backward") for i in range(3)
    )


def test_read_keras_v3_stores_shared_layer_once(tmp_path):
    model = build("branches_and_shared")
    model.save(tmp_path / "model.keras")
    with read_model(tmp_path / "model.keras") as loaded:
        stored = [s for _, n in loaded.graph.walk() for s in n.stored or []]
    assert [tuple(s.shape) for s in stored] == [tuple(w.shape) for w in model.weights]


def test_read_keras_v3_deflated_archive_matches_keras(tmp_path):
    model = build("conv_bn")
    model.save(tmp_path / "stored.keras")
    _recompress(tmp_path / "stored.keras", tmp_path / "deflated.keras")
    with read_model(tmp_path / "deflated.keras") as loaded:
        assert_weights_match_keras(resolved(loaded), model, values=True)


def test_close_releases_weights_file(tmp_path):
    build("dense_bn").save(tmp_path / "model.keras")
    loaded = read_model(tmp_path / "model.keras")
    values = loaded.graph.layers[1].stored[0].values  # read from the archive directly
    assert values[()].shape == values.shape
    loaded.close()
    assert values.raw.fh.closed
    with pytest.raises(ValueError, match="closed file"):
        values[()]


def test_read_keras_v3_without_weights_member_is_malformed(tmp_path):
    path = _archive(tmp_path, {"config.json": build("dense_bn").to_json()})
    with pytest.raises(MalformedModel, match="no model.weights.h5"):
        read_model(path)


def test_read_keras_v3_npz_weights_are_unsupported(tmp_path):
    members = {"config.json": build("dense_bn").to_json(), "model.weights.npz": b"PK"}
    with pytest.raises(UnsupportedFormat, match="npz"):
        read_model(_archive(tmp_path, members))


def test_read_keras_v3_without_config_is_malformed(tmp_path):
    with pytest.raises(MalformedModel, match="no config.json"):
        read_model(_archive(tmp_path, {"metadata.json": "{}"}))


def test_read_keras_v3_bad_config_json_is_malformed(tmp_path):
    path = _archive(tmp_path, {"config.json": "{not json", "model.weights.h5": b""})
    with pytest.raises(MalformedModel, match="config.json is not valid JSON") as info:
        read_model(path, DIRECT)
    assert isinstance(info.value.__cause__, json.JSONDecodeError)


def test_read_keras_v3_config_that_is_not_a_model_is_malformed(tmp_path):
    config = json.dumps({"class_name": "Dense", "config": {"units": 2}})
    with pytest.raises(MalformedModel, match="not a model"):
        read_model(_archive(tmp_path, {"config.json": config}))


def test_read_keras_v3_damaged_weights_member_is_malformed(tmp_path):
    members = {"config.json": build("dense_bn").to_json(), "model.weights.h5": b"\x89HDF junk"}
    with pytest.raises(MalformedModel, match="damaged or incomplete") as info:
        read_model(_archive(tmp_path, members), DIRECT)
    assert info.value.__cause__ is not None


def test_read_keras_v3_truncated_archive_is_malformed(tmp_path):
    build("dense_bn").save(tmp_path / "model.keras")
    data = (tmp_path / "model.keras").read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(MalformedModel) as info:
        read_model(tmp_path / "cut.keras", DIRECT)
    assert info.value.code == "malformed-model"
    assert "zip" not in info.value.message.lower()
    assert isinstance(info.value.__cause__, zipfile.BadZipFile)


def test_read_keras_v3_refuses_external_links(tmp_path):
    model = build("dense_bn")
    model.save(tmp_path / "model.keras")
    weights = tmp_path / "model.weights.h5"
    with zipfile.ZipFile(tmp_path / "model.keras") as archive:
        weights.write_bytes(archive.read("model.weights.h5"))
        config = archive.read("config.json")
    with h5py.File(weights, "a") as h5:
        del h5["layers/dense/vars/0"]
        h5["layers/dense/vars/0"] = h5py.ExternalLink("/etc/passwd.h5", "/x")
    path = _archive(tmp_path, {"config.json": config, "model.weights.h5": weights.read_bytes()})
    with pytest.raises(MalformedModel, match="links"):
        read_model(path)


def test_read_keras_v3_values_are_read_lazily(tmp_path):
    model = build("dense_bn")
    model.save(tmp_path / "model.keras")
    with read_model(tmp_path / "model.keras") as loaded:
        kernel = loaded.graph.layers[1].stored[0].values
        assert isinstance(kernel, DirectArray)  # where its values are, not the values
        np.testing.assert_array_equal(kernel[0], model.get_weights()[0][0])


def _recompress(source, target):
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))


def _archive(tmp_path, members):
    path = tmp_path / "made.keras"
    with zipfile.ZipFile(path, "w") as archive:
        if "metadata.json" not in members:
            archive.writestr("metadata.json", '{"keras_version": "3.15.1"}')
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("metadata", [None, "{broken", '{"keras_version": 3}'])
def test_read_keras_v3_without_usable_metadata_still_reads(tmp_path, metadata):
    model = build("dense_bn")
    model.save(tmp_path / "model.keras")
    with zipfile.ZipFile(tmp_path / "model.keras") as archive:
        members = {n: archive.read(n) for n in ("config.json", "model.weights.h5")}
    path = tmp_path / "rewritten.keras"
    with zipfile.ZipFile(path, "w") as archive:
        if metadata is not None:
            archive.writestr("metadata.json", metadata)
        for name, data in members.items():
            archive.writestr(name, data)
    with read_model(path) as loaded:
        assert loaded.keras_version is None
        assert_weights_match_keras(resolved(loaded), model, values=True)


def test_read_keras_finds_weights_of_a_class_saved_under_its_python_name(tmp_path):
    """keras.layers.GroupQueryAttention is the class GroupedQueryAttention: saving_lib stores
    its weights under `grouped_query_attention`, the config says `GroupQueryAttention`."""
    x = keras.Input((3, 8))
    attention = layers.GroupQueryAttention(head_dim=4, num_query_heads=2, num_key_value_heads=1)
    model = keras.Model(x, attention(x, x))
    model.save(tmp_path / "gqa.keras")
    with read_model(tmp_path / "gqa.keras") as loaded:
        graph = resolved(loaded)
        assert [w.shape for w in weights_in_order(graph)] == [w.shape for w in model.weights]


def test_read_keras_v3_nested_functional_outputs_count_its_creation_node(tmp_path):
    """Keras writes a nested Functional's output node one past its call (its creation node
    counts); Keras reads it one back. Called twice, each output is the call Keras gives."""
    x = keras.Input((3,))
    inner = keras.Model(x, layers.Dense(3)(x), name="inner")
    outer_in = keras.Input((3,))
    first = inner(outer_in)
    second = inner(layers.Dense(3, name="between")(first))
    model = randomize_weights(keras.Model(outer_in, [second, first]))
    model.save(tmp_path / "model.keras")
    written = json.loads(zipfile.ZipFile(tmp_path / "model.keras").read("config.json"))
    assert written["config"]["output_layers"] == [["inner", 2, 0], ["inner", 1, 0]]
    loaded_by_keras = keras.saving.load_model(tmp_path / "model.keras", compile=False)
    keras_nodes = [t._keras_history.node_index for t in loaded_by_keras.outputs]
    with read_model(tmp_path / "model.keras") as loaded:
        graph = resolved(loaded)
        assert [ref.node_index for ref in graph.outputs] == keras_nodes == [1, 0]
        assert_weights_match_keras(graph, loaded_by_keras, values=True)


def test_read_keras_v3_named_outputs_in_sorted_key_order(tmp_path):
    """A dict of outputs is flattened by sorted key: that orders model.layers and weights."""
    x = keras.Input((4,))
    hidden = layers.Dense(4)(x)
    model = keras.Model(
        x,
        {
            "zeta": layers.Dense(1, name="zeta")(hidden),
            "alpha": layers.Dense(2, name="alpha")(hidden),
        },
    )
    model = randomize_weights(model)
    model.save(tmp_path / "model.keras")
    loaded_by_keras = keras.saving.load_model(tmp_path / "model.keras", compile=False)
    with read_model(tmp_path / "model.keras") as loaded:
        graph = resolved(loaded)
        assert [ref.layer for ref in graph.outputs] == ["alpha", "zeta"]
        assert_weights_match_keras(graph, loaded_by_keras, values=True)


@keras.saving.register_keras_serializable("Custom")
class Wrapper(keras.Model):
    """A subclassed model like the wild PrototypicalNetwork: it keeps a Sequential at an
    attribute (`embedding`) whose config key (`embedding_model`) names it otherwise."""

    def __init__(self, embedding_model, **kwargs):
        super().__init__(**kwargs)
        self.embedding = embedding_model

    def call(self, x):
        return self.embedding(x)

    def get_config(self):
        embedding = keras.saving.serialize_keras_object(self.embedding)
        return {**super().get_config(), "embedding_model": embedding}


def test_read_keras_v3_subclassed_model_is_the_model_its_config_holds(tmp_path):
    inner = randomize_weights(
        keras.Sequential([keras.Input((5,)), layers.Dense(4), layers.BatchNormalization()])
    )
    model = Wrapper(inner)
    model(np.zeros((1, 5), "float32"))
    model.save(tmp_path / "model.keras")
    with read_model(tmp_path / "model.keras") as loaded:
        graph = resolved(loaded)
        assert graph.subclass == "Wrapper" and graph.class_name == "Sequential"
        assert_weights_match_keras(graph, inner, values=True)


def test_a_reading_process_leaves_its_models_files_to_its_exit(tmp_path, monkeypatch):
    """A reading process ends by os._exit once it has answered: closing a model there leaves
    its weights file (and what the scan opened in it) open for that exit, where closing them
    took ~7 ms before the answer could go; elsewhere close() closes them. On the previous
    commit the file was closed in both: the last read raised."""
    path = tmp_path / "m.keras"
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save(path)
    with read_model(path, DIRECT) as loaded:
        kernel = loaded.graph.layers[-1].stored[0].values
    with pytest.raises(ValueError):  # the file is closed
        np.asarray(kernel)
    reader, writer = os.pipe()
    monkeypatch.setattr(siblings, "answers_fd", writer)  # this process as a reading process
    monkeypatch.setattr(siblings, "forkable", lambda: False)  # that forks no sibling
    monkeypatch.setattr(loaded_models, "LEFT_TO_EXIT", [])
    try:
        with read_model(path, DIRECT) as loaded:
            kernel = loaded.graph.layers[-1].stored[0].values
        assert np.asarray(kernel).shape == (3, 2)
        assert len(loaded_models.LEFT_TO_EXIT) == 1
    finally:
        for resources, _ in loaded_models.LEFT_TO_EXIT:
            resources.close()
        os.close(reader), os.close(writer)
