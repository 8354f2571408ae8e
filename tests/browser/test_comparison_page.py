"""The report page's form "Compare with another model" and the comparison page, in Chromium:
a Dense model and the same model with its last kernel moved."""

from __future__ import annotations

import os
import re

import httpx2
import pytest
from playwright.sync_api import expect

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def test_compare_from_the_report_page_shows_what_changed(tab, server, tmp_path):
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(5)
    inputs = keras.Input((4,), name="x")
    h = keras.layers.Dense(5, activation="relu", name="first")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, name="last")(h))
    model.save(tmp_path / "a.keras")
    model.get_layer("last").kernel.assign(model.get_layer("last").kernel.numpy() * 2.0)
    model.save(tmp_path / "b.keras")
    with (tmp_path / "a.keras").open("rb") as fh:
        created = httpx2.post(
            f"{server}/api/v1/reports", files={"file": ("a.keras", fh)}, data={"check": "false"}
        )
    assert created.status_code == 201

    page = tab.page
    tab.open(f"/reports/{created.json()['id']}")
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
