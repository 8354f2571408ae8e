"""The graph on the report page in Chromium: the Add of a skip connection with both inputs, a
nested model that folds and opens (with JavaScript and without), a node that leads to its
row, the overlay switch. Screenshots go to test-artifacts/graph-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import ARTIFACTS, PHONE, open_tab, post_report
from tests.support.files import saved
from tests.support.graph_models import residual_with_nested
from tests.support.pages import fresh

# Where each edge of the top drawing starts and where its arrowhead is, and each node's box,
# all in the SVG's own coordinates: what a person sees joined.
GEOMETRY = """() => {
    const svg = document.querySelector("#graph .graph-top svg");
    const box = (g) => { const b = g.getBBox(); return [b.x, b.y, b.x + b.width, b.y + b.height]; };
    const nodes = {};
    svg.querySelectorAll("g.layer, g.fold").forEach((g) => {
        nodes[g.querySelector("text").textContent] = box(g.querySelector("polygon"));
    });
    const edges = [...svg.querySelectorAll("g.edge")].map((g) => {
        const start = g.querySelector("path").getPointAtLength(0);
        return {start: [start.x, start.y], head: box(g.querySelector("polygon"))};
    });
    return {nodes, edges};
}"""


@pytest.fixture(scope="module")
def graph_report(server, tmp_path_factory) -> str:
    """The residual model's report, its check done (so the error overlay has values)."""
    path = saved(fresh(residual_with_nested), tmp_path_factory.mktemp("g") / "residual.keras")
    return post_report(server, path, check=True)


def inside(point, box, slack=2.0) -> bool:
    x, y = point
    return box[0] - slack <= x <= box[2] + slack and box[1] - slack <= y <= box[3] + slack


def touches(a, b, slack=2.0) -> bool:
    return not (
        a[2] + slack < b[0] or b[2] + slack < a[0] or a[3] + slack < b[1] or b[3] + slack < a[1]
    )


def test_graph_shows_the_add_with_both_inputs(tab, graph_report):
    tab.open(f"/reports/{graph_report}")
    top = tab.page.locator("#graph .graph-top")
    expect(top.locator("g.layer", has_text="skip_add")).to_contain_text("Add")
    geometry = tab.page.evaluate(GEOMETRY)
    nodes = geometry["nodes"]
    into_add = [e for e in geometry["edges"] if touches(e["head"], nodes["skip_add"])]
    sources = sorted(
        name for e in into_add for name, box in nodes.items() if inside(e["start"], box)
    )
    assert sources == ["b", "x"]
    tab.shoot("graph-report")
    tab.page.locator("#graph").screenshot(path=str(ARTIFACTS / "graph-section.png"))
    assert tab.console_errors() == []


def test_graph_node_leads_to_its_row(tab, graph_report):
    page = tab.page
    tab.open(f"/reports/{graph_report}")
    page.locator("#graph .graph-top g.layer", has_text="skip_add").locator("a").click()
    page.wait_for_url(re.compile(r"#layer-skip_add$"))
    expect(page.locator("#layer-skip_add")).to_be_in_viewport()
    assert tab.console_errors() == []


def test_graph_group_opens_in_place_and_folds(tab, graph_report):
    page = tab.page
    tab.open(f"/reports/{graph_report}")
    group = page.locator("#graph-inner")
    expect(group).not_to_have_attribute("open", "")
    expect(group.locator("g.layer", has_text="inner_dense")).to_be_hidden()
    page.locator("#graph .graph-top g.fold", has_text="inner").locator("a").click()
    expect(group).to_have_attribute("open", "")
    expect(group.locator("g.layer", has_text="inner_dense")).to_be_visible()
    assert "open=" not in page.url  # opened in place, no reload
    tab.shoot("graph-group-open")
    group.locator("summary").click()
    expect(group.locator("g.layer", has_text="inner_dense")).to_be_hidden()
    assert tab.console_errors() == []


def test_graph_group_opens_without_javascript(browser, server, graph_report):
    tab = open_tab(browser, server, javascript=False)
    page = tab.page
    tab.open(f"/reports/{graph_report}")
    page.locator("#graph .graph-top g.fold", has_text="inner").locator("a").click()
    page.wait_for_url(re.compile(r"\?open=inner#graph-inner$"))
    expect(page.locator("#graph-inner g.layer", has_text="inner_out")).to_be_visible()
    page.locator("#graph").get_by_role("link", name="Parameters").click()
    page.wait_for_url(re.compile(r"\?overlay=params#graph$"))
    expect(page.locator("#graph .graph-top g.layer", has_text="head")).to_contain_text("8 params")
    tab.shoot("graph-no-javascript")
    assert tab.console_errors() == []
    page.context.close()


def test_graph_overlay_switch_shows_each_layers_values(tab, graph_report):
    page = tab.page
    tab.open(f"/reports/{graph_report}")
    add = page.locator("#graph .graph-top g.layer", has_text="skip_add")
    expect(add.locator("text.v-class")).to_have_text("(None, 4)")
    expect(add.locator("text.v-error")).to_be_hidden()
    page.locator("#graph").get_by_role("link", name="Error vs Keras").click()
    expect(page.locator("[data-graph]")).to_have_attribute("data-overlay", "error")
    expect(add.locator("text.v-class")).to_be_hidden()
    # The Add's error may be an exact 0 where the CPU's kernels sum the same way (AVX-512 here).
    expect(add.locator("text.v-error")).to_have_text(
        re.compile(r"^rel (\d\.\de-\d\d|0\.0e\+00) ✓$")
    )
    page.locator("#graph").get_by_role("link", name="Parameters").click()
    # Dense(4) on 4 inputs: 4 × 4 + 4 = 20 parameters; an Add has none.
    a_node = page.locator("#graph .graph-top g.layer").filter(has=page.get_by_text("a", exact=True))
    expect(a_node.locator("text.v-params")).to_have_text("20 params")
    expect(add.locator("text.v-params")).to_have_text("0 params")
    tab.shoot("graph-overlay-params")
    assert tab.console_errors() == []


def test_graph_on_a_phone(browser, server, graph_report):
    tab = open_tab(browser, server, viewport=PHONE)
    tab.open(f"/reports/{graph_report}")
    view = tab.page.locator("#graph .graph-top")
    expect(view).to_be_visible()
    width = tab.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # the drawing scrolls in its box, not the page
    tab.shoot("graph-phone")
    tab.page.locator("#graph").screenshot(path=str(ARTIFACTS / "graph-phone-section.png"))
    assert tab.console_errors() == []
    tab.page.context.close()
