"""The layer table folds repeated blocks, links each layer's inputs, and folds on request."""

from __future__ import annotations

import pytest

from app.web.layer_blocks import block_prefix
from app.web.layer_view import OPEN_UP_TO, LayerFilter, layer_table
from tests.support.pages import bare_layer


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("conv2_block1_1_conv", "conv2_block1"),  # ResNet50, DenseNet
        ("conv2_block1_out", "conv2_block1"),
        ("block2a_expand_conv", "block2a"),  # EfficientNet
        ("block1_conv1", "block1"),  # VGG16, Xception
        ("block_1_expand", "block_1"),  # MobileNetV2
        ("conv1_conv", None),
        ("dense", None),
        ("block1", None),  # the name alone, nothing after it
        ("block_1", None),
    ],
)
def test_block_prefix_of_keras_applications_names(name, prefix):
    assert block_prefix(name) == prefix


def resnet_like() -> list:
    names = ["conv1_conv", "conv2_block1_1_conv", "conv2_block1_2_conv", "conv2_block1_add"]
    names += ["conv2_block2_1_conv", "conv2_block2_add", "conv3_block1_1_conv", "avg_pool"]
    return [bare_layer(name, []) for name in names]


def test_consecutive_layers_of_one_block_fold_together():
    table = layer_table(resnet_like(), LayerFilter())
    kinds = [(item.kind, getattr(item, "name", None)) for item in table.root.items]
    assert kinds == [
        ("run", None),
        ("block", "conv2_block1"),
        ("block", "conv2_block2"),
        ("run", None),  # conv3_block1 has one layer here: no block, it joins the plain run
    ]
    assert [row.layer.name for row in table.root.items[3].rows] == [
        "conv3_block1_1_conv",
        "avg_pool",
    ]
    assert table.root.items[1].total == 3
    assert table.root.items[1].anchor == "block-conv2_block1"
    assert (table.total, table.blocks, table.first_block) == (8, 2, "conv2_block1")


def test_blocks_fold_in_a_large_model_and_open_on_request_or_under_a_filter():
    many = [bare_layer(f"conv{i}_block1_{j}", []) for i in range(OPEN_UP_TO) for j in range(2)]
    table = layer_table(many, LayerFilter())
    block = table.root.items[0]
    assert table.opens(block) is False
    assert layer_table(many, LayerFilter(fold="all")).opens(block)
    assert layer_table(many, LayerFilter(text="conv3")).opens(block)
    small = layer_table(resnet_like(), LayerFilter())
    assert small.opens(small.root.items[1])  # 8 layers: read whole
    folded = layer_table(resnet_like(), LayerFilter(fold="none"))
    assert not folded.opens(folded.root.items[1])


def test_connected_to_links_each_inbound_layer_that_has_a_row():
    layers = [bare_layer("a", []), bare_layer("b", []), bare_layer("add", [])]
    layers[2] = layers[2].model_copy(update={"inbound": ["a", "b", "input_layer"]})
    rows = layer_table(layers, LayerFilter()).root.items[0].rows
    assert rows[2].inbound == [("a", "layer-a"), ("b", "layer-b"), ("input_layer", None)]
    assert rows[0].inbound == []


def test_fold_links_keep_the_filter():
    keep = LayerFilter.from_query({"class": "Dense", "q": "conv", "open": "none"})
    assert keep.fold == "none"
    assert keep.query(open="all") == "class=Dense&q=conv&open=all"
    assert LayerFilter.from_query({"open": "sideways"}).fold == ""
