"""The legacy HDF5 reader against Keras: files Keras 3 writes, and Keras 2 layouts written here
with h5py the way Keras 2 wrote them (name scopes, `_1` suffixes, nested models)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from app.analysis.resolve import resolve, unsaved_layers
from app.errors import MalformedModel, WeightMismatch
from app.formats import ReadLimits, read_model
from tests.support.kerascompare import assert_weights_match_keras, resolved
from tests.support.kerasref import keras
from tests.support.models import BUILDERS, build

# The reader itself, its library errors translated with their cause (no throwaway process).
DIRECT = ReadLimits(isolate_hdf5=False)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_read_legacy_h5_matches_keras_weights(name, tmp_path):
    model = build(name)
    model.save(tmp_path / "model.h5")
    with read_model(tmp_path / "model.h5") as loaded:
        assert loaded.format == "legacy_h5"
        assert_weights_match_keras(resolved(loaded), model, values=True)


def test_read_legacy_h5_reports_writer_version_and_backend(tmp_path):
    build("dense_bn").save(tmp_path / "model.h5")
    with read_model(tmp_path / "model.h5") as loaded:
        assert loaded.keras_version == keras.__version__
        assert loaded.backend == "tensorflow"


def test_read_legacy_h5_keeps_variable_names_for_binding(tmp_path):
    build("dense_bn").save(tmp_path / "model.h5")
    with read_model(tmp_path / "model.h5") as loaded:
        bn = next(n for n in loaded.graph.layers if n.class_name == "BatchNormalization")
        assert [s.name.rsplit("/", 1)[-1] for s in bn.stored] == [
            "gamma", "beta", "moving_mean", "moving_variance"
        ]  # fmt: skip


@pytest.mark.parametrize("suffix", ["", "_1"])
@pytest.mark.parametrize("name", ["dense_bn", "bn_variants", "lstm", "frozen_layers"])
def test_read_legacy_h5_keras2_scopes_match_keras(name, suffix, tmp_path):
    model = build(name)
    write_keras2_h5(model, tmp_path / "k2.h5", suffix=suffix)
    with read_model(tmp_path / "k2.h5") as loaded:
        assert loaded.keras_version == "2.4.0"
        assert_weights_match_keras(resolved(loaded), model, values=True)


@pytest.mark.parametrize("name", ["sequential_in_functional", "functional_in_sequential"])
def test_read_legacy_h5_keras2_nested_model_trainables_first_matches_keras(name, tmp_path):
    model = build(name)
    write_keras2_h5(model, tmp_path / "k2.h5")
    with read_model(tmp_path / "k2.h5") as loaded:
        assert_weights_match_keras(resolved(loaded), model, values=True)


def test_read_legacy_h5_joins_chunked_name_attributes(tmp_path):
    model = build("dense_bn")
    write_keras2_h5(model, tmp_path / "k2.h5", chunked=True)
    with read_model(tmp_path / "k2.h5") as loaded:
        assert_weights_match_keras(resolved(loaded), model, values=True)


def test_read_legacy_h5_with_user_block_matches_keras(tmp_path):
    model = build("conv_bn")
    model.save(tmp_path / "model.h5")
    with (
        h5py.File(tmp_path / "model.h5") as src,
        h5py.File(tmp_path / "blocked.h5", "w", userblock_size=1024) as dst,
    ):
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        src.copy(src["model_weights"], dst)
    with read_model(tmp_path / "blocked.h5") as loaded:
        assert_weights_match_keras(resolved(loaded), model, values=True)


def test_read_legacy_h5_weights_only_file_is_malformed(tmp_path):
    model = build("dense_bn")
    model.save_weights(tmp_path / "model.weights.h5")
    with pytest.raises(MalformedModel, match="weights only"):
        read_model(tmp_path / "model.weights.h5")


def test_read_legacy_h5_bad_model_config_is_malformed(tmp_path):
    with h5py.File(tmp_path / "bad.h5", "w") as h5:
        h5.attrs["model_config"] = "{oops"
    with pytest.raises(MalformedModel, match="not valid JSON"):
        read_model(tmp_path / "bad.h5")


@pytest.mark.parametrize("how", ["group deleted", "group emptied"])
def test_read_legacy_h5_layer_listed_without_weights_counts_them_from_config(tmp_path, how):
    """A weights section cut short (tfk2_10_0_transformer_tensorflowoplayer.h5 in the wild):
    the layer is listed but its arrays are not there. Its weights are counted from its config,
    without values, and it is named as unsaved; the other layers keep their stored values."""
    model = build("dense_bn")
    model.save(tmp_path / "model.h5")
    dense = model.layers[0]
    with h5py.File(tmp_path / "model.h5", "a") as h5:
        del h5["model_weights"][dense.name]
        if how == "group emptied":
            h5["model_weights"].create_group(dense.name).attrs["weight_names"] = []
    with read_model(tmp_path / "model.h5") as loaded:
        graph = resolved(loaded)
        node = graph.layer(dense.name)
        assert [w.shape for w in node.weights] == [tuple(w.shape) for w in dense.weights]
        assert all(w.values is None for w in node.weights)
        assert unsaved_layers(graph) == [dense.name]
        total = sum(w.count for w in graph.all_weights())
        assert total == model.count_params()
        others = [w for n in graph.layers if n is not node for w in n.weights]
        assert others and all(w.values is not None for w in others)


def test_read_legacy_h5_weights_of_undefined_layer_are_malformed(tmp_path):
    model = build("dense_bn")
    write_keras2_h5(model, tmp_path / "k2.h5", rename={model.layers[0].name: "ghost"})
    with pytest.raises(MalformedModel, match="'ghost'"):
        read_model(tmp_path / "k2.h5")


def test_read_legacy_h5_refuses_soft_links(tmp_path):
    model = build("dense_bn")
    model.save(tmp_path / "model.h5")
    name = model.layers[0].name
    with h5py.File(tmp_path / "model.h5", "a") as h5:
        group = h5["model_weights"][name]
        weight = group.attrs["weight_names"][0]
        weight = weight.decode() if isinstance(weight, bytes) else weight
        target = group[weight].name
        h5["elsewhere"] = group[weight][()]
        del h5[target]
        h5[target] = h5py.SoftLink("/elsewhere")
    with pytest.raises(MalformedModel, match="links"):
        read_model(tmp_path / "model.h5")


def test_read_legacy_h5_truncated_file_is_malformed(tmp_path):
    build("dense_bn").save(tmp_path / "model.h5")
    data = (tmp_path / "model.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 3])
    with pytest.raises(MalformedModel, match="damaged or incomplete") as info:
        read_model(tmp_path / "cut.h5", DIRECT)
    assert isinstance(info.value.__cause__, OSError)


def test_close_releases_h5_file(tmp_path):
    build("dense_bn").save(tmp_path / "model.h5")
    with read_model(tmp_path / "model.h5") as loaded:
        values = loaded.graph.layers[1].stored[0].values  # read from the file directly
        assert values[()].shape == values.shape
    assert values.raw.fh.closed
    with pytest.raises(ValueError, match="closed file"):
        values[()]


def write_keras2_h5(model, path, *, suffix="", chunked=False, rename=None):
    """Write `model` as tf.keras 2 `model.save('x.h5')` did: `<layer><suffix>/<var>:0` names,
    a nested model's arrays all in its own group, trainable ones first."""
    rename = rename or {}
    with h5py.File(path, "w") as h5:
        h5.attrs["model_config"] = model.to_json()
        h5.attrs["keras_version"] = b"2.4.0"
        h5.attrs["backend"] = b"tensorflow"
        root = h5.create_group("model_weights")
        names = [rename.get(layer.name, layer.name) for layer in model.layers]
        _set_names(root, "layer_names", names, chunked)
        for layer, name in zip(model.layers, names, strict=True):
            group = root.create_group(name)
            owners = _owners(layer)
            weights = layer.trainable_weights + layer.non_trainable_weights
            weight_names = [f"{owners[id(w)]}{suffix}/{_var(w)}:0" for w in weights]
            _set_names(group, "weight_names", weight_names, chunked)
            for weight_name, weight in zip(weight_names, weights, strict=True):
                group[weight_name] = np.asarray(weight.numpy())


def _owners(layer) -> dict[int, str]:
    """The leaf layer that owns each variable of `layer` (itself unless it is a model)."""
    if not hasattr(layer, "layers"):
        return {id(w): layer.name for w in layer.weights}
    owners: dict[int, str] = {}
    for inner in layer.layers:
        owners.update(_owners(inner))
    return owners


def _var(weight) -> str:
    return weight.path.rsplit("/", 1)[-1]


def _set_names(group, attr, names, chunked):
    encoded = [n.encode() for n in names]
    if not chunked:
        group.attrs[attr] = encoded
        return
    half = max(1, len(encoded) // 2)
    group.attrs[f"{attr}0"] = encoded[:half]
    if encoded[half:]:
        group.attrs[f"{attr}1"] = encoded[half:]


def test_write_keras2_h5_loads_in_keras(tmp_path):
    """The hand-written layout is one Keras itself accepts, values and all."""
    model = build("functional_in_sequential")
    write_keras2_h5(model, tmp_path / "k2.h5")
    fresh = keras.models.clone_model(model)
    fresh.load_weights(tmp_path / "k2.h5")
    for ours, theirs in zip(fresh.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    with h5py.File(tmp_path / "k2.h5") as h5:
        assert json.loads(h5.attrs["model_config"])["class_name"] == "Sequential"


# Keras 3.0-3.2 named a nested model's arrays by variable name alone; they are bound by
# position (its trainable weights, then the others), names and shapes checked.
KERAS_3_0_NESTED = Path(__file__).parents[1] / "writers/files/keras-3.0.5/nested_shared.h5"


def _nested_arrays(path: Path) -> list[tuple[str, tuple[int, ...]]]:
    with read_model(path, ReadLimits(isolate_hdf5=False)) as loaded:
        resolve(loaded.graph, weights_in_file=True)
        inner = loaded.graph.layer("inner_sequential").inner
        return [(w.stored_name, tuple(w.shape)) for w in inner.all_weights()]


def test_read_keras_3_0_h5_binds_nested_arrays_by_position():
    assert _nested_arrays(KERAS_3_0_NESTED) == [
        ("model_weights/inner_sequential/kernel", (4, 3)),
        ("model_weights/inner_sequential/bias", (3,)),
        ("model_weights/inner_sequential/gamma", (3,)),
        ("model_weights/inner_sequential/moving_mean", (3,)),
        ("model_weights/inner_sequential/moving_variance", (3,)),
    ]


def test_read_keras_3_0_h5_with_a_nested_array_missing_is_a_weight_mismatch(tmp_path):
    path = tmp_path / "missing.h5"
    shutil.copy(KERAS_3_0_NESTED, path)
    with h5py.File(path, "r+") as h5:
        group = h5["model_weights/inner_sequential"]
        del group["gamma"]
        names = [n for n in group.attrs["weight_names"] if n not in (b"gamma", "gamma")]
        group.attrs["weight_names"] = names
    with pytest.raises(WeightMismatch, match="stores 4 weight arrays where its config creates 5"):
        _nested_arrays(path)
