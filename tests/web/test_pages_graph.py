"""The graph on the report page: drawn once, kept with the report, its overlay and folding
set by the URL (no JavaScript needed)."""

from __future__ import annotations

import re
import shutil

import pytest

from app.drawing import drawing as drawing_module
from tests.support.api import make_client
from tests.support.graph_models import residual_with_nested
from tests.support.pages import fresh, page, section, upload

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")


@pytest.fixture(scope="module")
def graph_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("graph")
    with make_client(tmp) as client:
        yield client, upload(client, fresh(residual_with_nested), tmp, "residual.keras")


def graph(html: str) -> str:
    return section(html, 'id="graph"')


def node(html: str, name: str) -> str:
    """The markup of the node whose first line is `name`."""
    match = re.search(rf'<g id="g(n\d+)"[^>]*>(?:(?!<g id="g).)*?>{name}</text>.*?</g>', html, re.S)
    assert match, f"no node {name}"
    return match[0]


def edges(html: str) -> int:
    return len(re.findall(r'<g class="edge">', html))


def test_report_page_draws_the_add_with_both_inputs(graph_report):
    client, report_id = graph_report
    html = graph(page(client, f"/reports/{report_id}"))
    add = node(html, "skip_add")
    assert ">Add</text>" in add
    # x → a, a → b, x → skip_add, b → skip_add, skip_add → inner (folded), inner → head
    assert edges(html.split('class="graph-groups"')[0]) == 6


def test_report_page_links_each_node_to_its_row(graph_report):
    client, report_id = graph_report
    full = page(client, f"/reports/{report_id}")
    link = re.search(r'xlink:href="#(layer-skip_add)"', node(graph(full), "skip_add"))
    assert link and f'id="{link[1]}"' in full  # the row is there


def test_report_page_folds_a_nested_model_and_opens_it_by_url(graph_report):
    client, report_id = graph_report
    closed = graph(page(client, f"/reports/{report_id}"))
    assert re.search(r'xlink:href="\?open=inner#graph-inner"', closed)
    assert re.search(
        r'<details class="graph-group" id="graph-inner" data-graph-group="inner">', closed
    )
    assert ">inner_dense</text>" not in closed  # a closed group's drawing is not in the page
    assert f'data-graph-src="/reports/{report_id}/graph?view=inner">Draw inner here</a>' in closed
    opened = graph(page(client, f"/reports/{report_id}?open=inner"))
    assert '<details class="graph-group" id="graph-inner" data-graph-group="inner" open>' in opened
    inner_view = opened.split('id="graph-inner"')[1]
    assert ">inner_dense</text>" in inner_view and ">inner_out</text>" in inner_view


def test_report_page_sets_the_overlay_from_the_url(graph_report):
    client, report_id = graph_report
    html = graph(page(client, f"/reports/{report_id}?overlay=macs"))
    assert 'data-overlay="macs"' in html
    assert re.search(r'href="\?overlay=macs#graph" data-overlay-link="macs" aria-current', html)
    assert ">16 MACs</text>" in node(html, "a")  # Dense 4 → 4 at batch 1: 4 × 4
    assert 'xlink:href="?overlay=macs&amp;open=inner#graph-inner"' in html
    unknown = graph(page(client, f"/reports/{report_id}?overlay=%3Cscript%3E"))
    assert 'data-overlay="class"' in unknown


def test_report_page_draws_once_and_keeps_the_drawing(tmp_path, monkeypatch):
    with make_client(tmp_path) as client:
        report_id = upload(client, fresh(residual_with_nested), tmp_path, "r.keras")
        runs = []
        real = drawing_module.run_dot
        monkeypatch.setattr(drawing_module, "run_dot", lambda t: runs.append(1) or real(t))
        first = graph(page(client, f"/reports/{report_id}"))
        second = graph(page(client, f"/reports/{report_id}?overlay=params"))
        assert runs == [1]
        assert node(first, "skip_add").split(">", 1)[1] == node(second, "skip_add").split(">", 1)[1]


def test_report_page_says_why_when_graphviz_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr("app.drawing.svg.shutil.which", lambda name: None)
    with make_client(tmp_path) as client:
        report_id = upload(client, fresh(residual_with_nested), tmp_path, "r.keras")
        html = page(client, f"/reports/{report_id}")
    assert "The graph is not drawn: Graphviz is not installed on this server" in html
    assert 'id="total-params"' in html  # the rest of the page is there


def test_graph_view_route_answers_a_groups_drawing(graph_report):
    client, report_id = graph_report
    response = client.get(f"/reports/{report_id}/graph", params={"view": "inner"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<svg ")
    assert ">inner_dense</text>" in response.text and ">skip_add</text>" not in response.text


def test_graph_view_route_refuses_a_group_it_does_not_have(graph_report):
    client, report_id = graph_report
    response = client.get(f"/reports/{report_id}/graph", params={"view": "<nope>"})
    assert response.status_code == 404
    assert "group-not-found" in response.text
    assert "<nope>" not in response.text
