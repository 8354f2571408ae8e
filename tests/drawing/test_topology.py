"""Groups and edges as the drawing folds them: blocks by name prefix, nested models."""

from __future__ import annotations

from app.drawing.topology import topology
from tests.drawing.layers import chain, layer, resnet_like, skip_connection


def keys(topo) -> list[str]:
    return [group.key for group in topo.root.walk()]


def names(layers, indices) -> list[str]:
    return [layers[i].name for i in indices]


def test_topology_folds_a_large_model_into_its_numbered_blocks():
    """31 layers: `conv2` (30) is a group, and being over FOLD_OVER opens into its blocks."""
    layers = resnet_like()
    topo = topology(layers)
    assert keys(topo) == ["", "conv2", "conv2_block1", "conv2_block2", "conv2_block3"]
    block = topo.group("conv2_block2")
    assert len(block.members) == 10
    assert names(layers, block.members)[-1] == "conv2_block2_add"
    assert block.parent is topo.group("conv2")
    assert names(layers, topo.root.members) == ["input_layer"]


def test_topology_draws_a_small_model_whole():
    layers = [layer("x", "InputLayer"), *chain([f"block1_{n}" for n in "abcd"], "x")]
    topo = topology(layers)
    assert keys(topo) == [""]
    assert len(topo.root.members) == 5


def test_topology_starts_no_block_at_keras_automatic_names():
    """`dense_1`, `dense_2`: the number is the name's last part, no block's."""
    layers = [layer("x", "InputLayer"), *chain([f"dense_{n}" for n in range(30)], "x")]
    assert keys(topology(layers)) == [""]


def test_topology_leaves_a_block_of_few_layers_whole():
    """ResNet50's `conv2_block1_1_conv`, `_1_bn`, `_1_relu` share `conv2_block1_1`, but a
    block of 12 is not split further."""
    stem = [layer("x", "InputLayer"), *chain([f"stem{n}_x" for n in range(20)], "x")]
    parts = [f"conv2_block1_{n}_{kind}" for n in (1, 2, 3) for kind in ("conv", "bn", "relu")]
    block = chain([*parts, "conv2_block1_a", "conv2_block1_b", "conv2_block1_c"], "stem19_x")
    topo = topology(stem + block)
    assert "conv2_block1" in keys(topo)
    assert topo.group("conv2_block1").groups == []
    assert len(topo.group("conv2_block1").members) == 12


def test_topology_makes_a_nested_model_a_group_drawn_folded_in_its_caller():
    layers = [
        layer("x", "InputLayer"),
        layer("inner", "Functional", ("x",), is_model=True),
        layer("inner_in", "InputLayer", path=("inner",)),
        layer("inner_dense", "Dense", ("inner_in",), path=("inner",)),
        layer("head", "Dense", ("inner",)),
    ]
    topo = topology(layers)
    assert keys(topo) == ["", "inner"]
    inner = topo.group("inner")
    assert inner.kind == "model"
    assert names(layers, inner.members) == ["inner_in", "inner_dense"]
    assert topo.home[1] is topo.root  # the nested model's node is in the outer view
    assert topo.models[1] is inner


def test_topology_edges_are_inbound_resolved_in_the_same_model():
    """`dense` inside `inner` is not `dense` outside it."""
    layers = [
        layer("dense", "InputLayer"),
        layer("inner", "Functional", ("dense",), is_model=True),
        layer("in", "InputLayer", path=("inner",)),
        layer("dense", "Dense", ("in",), path=("inner",)),
        layer("out", "Dense", ("inner",)),
    ]
    assert sorted(topology(layers).edges) == [(0, 1), (1, 4), (2, 3)]


def test_topology_keeps_both_inputs_of_an_add():
    assert sorted(topology(skip_connection()).edges) == [(0, 1), (0, 3), (1, 2), (2, 3)]


def test_topology_keys_stay_unique_when_a_block_is_named_as_a_nested_model():
    """A nested model `stage1` beside 30 layers named `stage1_…`: two groups, two keys."""
    layers = [
        layer("x", "InputLayer"),
        layer("stage1", "Functional", ("x",), is_model=True),
        layer("in", "InputLayer", path=("stage1",)),
        *chain([f"stage1_{n}" for n in "abcdefghijklmnopqrstuvwxyz"], "stage1"),
        *chain([f"head{n}_x" for n in range(3)], "stage1_z"),
    ]
    topo = topology(layers)
    assert [(g.key, g.kind) for g in topo.root.walk()] == [
        ("", "model"),
        ("stage1", "model"),
        ("stage1~2", "block"),
    ]
