"""The DOT text of a view and what `dot` makes of it: names shown as they are, never read as
DOT or markup; groups folded; both inputs of an Add."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from app.drawing.dot import quoted, view_dot
from app.drawing.drawing import draw, node_facts
from app.drawing.svg import SVG_NS
from app.drawing.topology import topology
from tests.drawing.layers import layer, resnet_like, skip_connection

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
HOSTILE = [
    'a" color="red',  # closes the string, adds an attribute
    'b"]; evil [label="x',  # closes the node, adds one
    "c\\N\\n\\l\\G",  # Graphviz's label escapes: node name, line breaks
    "d &lt;b&gt; &amp; &#65;",  # entities Graphviz would decode
    "e </text><script>alert(1)</script>",  # markup in the SVG
    "f\nnewline\rand\ttab",
    "g\\",  # a trailing backslash would escape the closing quote
    "h → 名前 ✓",
]


def view_of(layers, key=""):
    topo = topology(layers)
    group = topo.group(key) if key else topo.root
    return view_dot(topo, group, layers, node_facts(topo, layers), {})


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("plain", '"plain"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("\\N", '"\\\\N"'),
        ("a & b", '"a &amp; b"'),
        ("&lt;", '"&amp;lt;"'),
        ("line\nbreak", '"line?break"'),
        ("end\\", '"end\\\\"'),
    ],
)
def test_quoted_escapes_what_dot_would_read(name, expected):
    assert quoted(name) == expected


def test_view_dot_names_nodes_by_index_never_by_name():
    layers = [layer(name) for name in HOSTILE]
    text = view_of(layers)
    statements = re.findall(r"^(\w+) \[", text, flags=re.M)
    assert statements == ["graph", "node", "edge", *(f"n{i}" for i in range(len(HOSTILE)))]


def test_view_dot_draws_both_inputs_of_an_add():
    text = view_of(skip_connection())
    assert re.findall(r"^(n\d+ -> n\d+);$", text, flags=re.M) == [
        "n0 -> n1",
        "n1 -> n2",
        "n0 -> n3",
        "n2 -> n3",
    ]


def test_view_dot_folds_blocks_and_stubs_what_is_outside_them():
    layers = resnet_like()  # input_layer (n0), conv2 → conv2_block1..3 (n1–n10, n11–n20, ...)
    topo = topology(layers)
    top = view_of(layers)
    stage = f"f{topo.group('conv2').number}"
    assert re.findall(r"^(\w+) -> (\w+);$", top, flags=re.M) == [("n0", stage)]
    block2 = view_of(layers, "conv2_block2")
    edges = re.findall(r"^(\w+) -> (\w+);$", block2, flags=re.M)
    # Its first layer and its Add are fed by conv2_block1_add (n10), drawn as a stub.
    assert ("s10", "n11") in edges and ("s10", "n20") in edges
    assert ("n19", "n20") in edges  # the Add's other input, the block's last convolution
    assert ("n20", "s21") in edges and ("n20", "s30") in edges  # what reads the block
    assert 's10 [class="stub", label="conv2_block1_add"' in block2


@needs_dot
def test_hostile_names_are_shown_as_they_are_and_add_nothing():
    layers = [layer(name) for name in HOSTILE]
    for i in range(1, len(layers)):
        layers[i] = layers[i].model_copy(update={"inbound": [HOSTILE[i - 1]]})
    drawing = draw(layers, {f"n{i}": f"#row-{i}" for i in range(len(layers))})
    assert drawing.failed is None
    svg = ET.fromstring(drawing.views[""])
    ns = {"s": SVG_NS}
    nodes = svg.findall(".//s:g[@class]", ns)
    layer_nodes = [g for g in nodes if g.get("class").startswith("layer")]
    assert [g.get("id") for g in layer_nodes] == [f"gn{i}" for i in range(len(HOSTILE))]
    shown = [g.findall(".//s:text", ns)[0].text for g in layer_nodes]
    control = str.maketrans("\n\r\t", "???")
    assert shown == [name.translate(control) for name in HOSTILE]
    assert svg.findall(".//s:script", ns) == []
    assert '="red"' not in drawing.views[""]  # no attribute but ours (a name's quote: &quot;)
    assert len(svg.findall(".//s:g[@class='edge']", ns)) == len(HOSTILE) - 1
