"""The report page's form "Compare with another model" and the comparison page, in Chromium:
a Dense model and the same model with its last kernel moved."""

from __future__ import annotations

import os
import re

import httpx2
import pytest
from playwright.sync_api import expect

from tests.support.browser import PHONE, VIEWPORTS, open_tab, post_report

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _write_pair(folder):
    """a.keras, and b.keras: the same model with its last kernel doubled."""
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(5)
    inputs = keras.Input((4,), name="x")
    h = keras.layers.Dense(5, activation="relu", name="first")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, name="last")(h))
    model.save(folder / "a.keras")
    model.get_layer("last").kernel.assign(model.get_layer("last").kernel.numpy() * 2.0)
    model.save(folder / "b.keras")


def test_compare_from_the_report_page_shows_what_changed(tab, server, tmp_path):
    _write_pair(tmp_path)
    report_id = post_report(server, tmp_path / "a.keras")

    page = tab.page
    tab.open(f"/reports/{report_id}")
    expect(page.get_by_role("heading", name="Compare with another model")).to_be_visible()
    page.set_input_files("#compare-a", str(tmp_path / "a.keras"))  # uploads are not kept
    page.set_input_files("#compare-b", str(tmp_path / "b.keras"))
    page.locator("#compare-form").get_by_role("button", name="Compare").click()
    page.wait_for_url(re.compile(r"/comparisons/[0-9a-f]+$"))

    expect(page.locator("#summary")).to_contain_text("The same architecture")
    expect(page.locator('tr[data-layer="last"] .chip.change')).to_contain_text(["weights changed"])
    expect(page.locator('tr[data-layer="first"]')).to_have_count(1)
    expect(page.locator("#chart svg rect.bar")).to_have_count(2)
    tab.shoot("comparison-page")

    page.get_by_role("link", name="Changed only").click()
    expect(page.locator('tr[data-layer="first"]')).to_have_count(0)
    expect(page.locator('tr[data-layer="last"]')).to_have_count(1)
    page.get_by_role("link", name="report of a").click()
    expect(page.get_by_role("heading", name="Compare with another model")).to_be_visible()
    assert tab.console_errors() == []


def test_change_chart_bars_show_their_value_and_link_to_their_row(browser, server, tmp_path):
    _write_pair(tmp_path)
    with (tmp_path / "a.keras").open("rb") as a, (tmp_path / "b.keras").open("rb") as b:
        created = httpx2.post(
            f"{server}/api/v1/comparisons", files={"a": ("a.keras", a), "b": ("b.keras", b)}
        )
    assert created.status_code == 201, created.text
    for viewport_name, viewport in VIEWPORTS.items():
        tab = open_tab(browser, server, viewport=viewport, has_touch=viewport is PHONE)
        page = tab.page
        tab.open(f"/comparisons/{created.json()['id']}?changed=1")
        bars = page.locator("#chart a")
        expect(bars).to_have_count(2)
        # Only the last kernel was doubled: ‖2K − K‖/‖K‖ = 1 for it (its bias, zeros, is
        # unchanged, so the layer's whole change is ‖K‖/‖K‖ = 1), 0 for the first layer.
        assert (
            bars.nth(0).get_attribute("aria-label")
            == "first: ‖b − a‖/‖a‖ 0, weights equal bit for bit"
        )
        assert bars.nth(1).get_attribute("aria-label") == "last: ‖b − a‖/‖a‖ 1, weights changed"
        # The first layer's row is hidden by ?changed=1: its bar opens the page of every layer.
        first_row = bars.nth(0).get_attribute("href")
        assert re.fullmatch(r"\?#change-\d+", first_row)
        last_row = bars.nth(1).get_attribute("href")
        assert re.fullmatch(r"#change-\d+", last_row)
        expect(page.locator(last_row)).to_have_attribute("data-layer", "last")
        value = page.locator("#chart [data-bar-value]")
        expect(value).to_be_hidden()
        if viewport is PHONE:
            bars.nth(1).locator("rect").tap()
        else:
            bars.nth(1).focus()
            expect(value).to_have_text("last: ‖b − a‖/‖a‖ 1, weights changed")
            expect(value).to_be_visible()
            tab.shoot(f"comparison-bar-focused-{viewport_name}")
            page.keyboard.press("Enter")
        page.wait_for_url(re.compile(f"{last_row}$"))
        expect(value).to_have_text("last: ‖b − a‖/‖a‖ 1, weights changed")
        expect(page.locator(last_row)).to_be_in_viewport()
        assert tab.console_errors() == []
        page.context.close()
