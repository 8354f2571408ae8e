"""Running `dot`, and the page's fill-in of the check's errors in a kept drawing."""

from __future__ import annotations

import subprocess

import pytest

from app.drawing import svg as svg_module
from app.drawing.drawing import draw, error_lines, shade
from app.drawing.svg import DrawingFailed, fill_errors, run_dot
from app.drawing.topology import topology
from app.schemas import CheckLayer, CheckReport
from tests.drawing.layers import skip_connection
from tests.drawing.test_dot import needs_dot


def check(*rows: tuple[str, float, str]) -> CheckReport:
    layers = [
        CheckLayer(
            name=name,
            class_name="Dense",
            output_shape=[[2, 4]],
            max_abs_error=error,
            max_rel_error=error,
            verdict=verdict,
        )
        for name, error, verdict in rows
    ]
    return CheckReport(status="failed", tolerance=1e-5, layers=layers)


def test_run_dot_says_when_graphviz_is_missing(monkeypatch):
    monkeypatch.setattr(svg_module.shutil, "which", lambda name: None)
    with pytest.raises(DrawingFailed, match="Graphviz is not installed"):
        run_dot(["digraph G { a }"])


def test_run_dot_says_when_graphviz_takes_too_long(monkeypatch):
    def slow(*args, **kwargs):
        raise subprocess.TimeoutExpired("dot", kwargs["timeout"])

    monkeypatch.setattr(svg_module.shutil, "which", lambda name: "/usr/bin/dot")
    monkeypatch.setattr(svg_module.subprocess, "run", slow)
    with pytest.raises(DrawingFailed, match="longer than 3 s"):
        run_dot(["digraph G { a }"], timeout_s=3)


@needs_dot
def test_run_dot_draws_several_graphs_in_one_run():
    svgs = run_dot(["digraph G { a -> b }", "digraph H { c }", "digraph I { d -> e -> f }"])
    assert [s.count(b'class="node"') for s in svgs] == [2, 1, 3]


@needs_dot
def test_run_dot_fails_on_text_that_is_not_dot():
    with pytest.raises(DrawingFailed, match="could not draw"):
        run_dot(["digraph G { a -> }"])


def test_shade_steps_down_by_half_a_decade_below_the_largest():
    values = (0, 1, 10**3, 10**5, 2 * 10**5, 5 * 10**5, 10**6, 3 * 10**6)
    assert [shade(v, 10**6) for v in values] == [0, 1, 1, 3, 4, 5, 5, 5]


def test_error_lines_shade_each_layer_against_the_tolerance():
    layers = skip_connection()  # x, a, b, add
    rows = [("a", 3e-9, "passed"), ("b", 4e-7, "passed"), ("add", 2e-3, "failed")]
    lines, shades = error_lines(topology(layers), layers, check(*rows))
    assert lines == {"n1": "rel 3.0e-09 ✓", "n2": "rel 4.0e-07 ✓", "n3": "rel 2.0e-03 ✗"}
    # 3e-9 is 3e-4 of the tolerance (shade 1), 4e-7 is 4e-2 of it (shade 3); over it: 5.
    assert shades == {"n1": 1, "n2": 3, "n3": 5}


@needs_dot
def test_fill_errors_writes_the_line_and_the_shade_of_each_node():
    drawing = draw(skip_connection(), {})
    svg = fill_errors(drawing.views[""], {"n3": "rel 2.0e-03 ✗"}, {"n3": 5})
    assert '<g id="gn3" class="layer fam-merging p0 m0 e5"' in svg
    assert 'data-e="n3" x=' in svg and ">rel 2.0e-03 ✗</text>" in svg
    assert '<g id="gn2" class="layer fam-core p0 m0"' in svg  # no error, no shade
    assert svg.count('class="v v-error"') == 4
