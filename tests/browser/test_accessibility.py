"""Keyboard, touch and axe-core on every kind of page, at 1440×900 and on a 390×844 phone;
a failed upload keeps its form. Screenshots go to test-artifacts/ (a11y-*.png)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.support.axe import severe_violations
from tests.support.browser import DESKTOP, PHONE, VIEWPORTS, open_tab, post_report
from tests.support.files import saved
from tests.support.kerasref import keras
from tests.support.pages import fresh


def audited(browser, server, path: str, name: str, statuses=()):
    """Each viewport: open `path`, screenshot it, and assert axe finds nothing serious."""
    for viewport_name, viewport in VIEWPORTS.items():
        tab = open_tab(browser, server, viewport=viewport)
        tab.expected_statuses = set(statuses)
        tab.open(path)
        expect(tab.page.locator("h1")).to_be_visible()
        tab.shoot(f"a11y-{name}-{viewport_name}")
        assert severe_violations(tab.page) == [], (path, viewport_name)
        width = tab.page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], (path, viewport_name)  # nothing overflows the page
        tab.page.context.close()


def test_upload_page_has_no_serious_axe_findings(browser, server):
    audited(browser, server, "/", "upload")


def test_report_page_has_no_serious_axe_findings(browser, server, seed_report):
    audited(browser, server, f"/reports/{seed_report}", "report-seed")


def test_batchnorm_page_has_no_serious_axe_findings(browser, server, seed_report):
    audited(browser, server, f"/reports/{seed_report}/batchnorm/batch_normalization", "batchnorm")


def test_error_page_has_no_serious_axe_findings(browser, server):
    audited(browser, server, "/reports/" + "0" * 32, "error-not-found", statuses={404})


@pytest.mark.slow
def test_resnet50_report_has_no_serious_axe_findings(browser, server, tmp_path):
    model = fresh(keras.applications.ResNet50, weights=None)
    path = saved(model, tmp_path / "resnet50.keras")
    report = f"/reports/{post_report(server, path)}"
    audited(browser, server, report, "report-resnet50")

    tab = open_tab(browser, server, viewport=DESKTOP)
    tab.open(report)
    block = tab.page.locator('details[data-block][id="block-conv2_block1"]')
    expect(block).not_to_have_attribute("open", "")  # 177 layers: blocks start folded
    add = tab.page.locator('[id="layer-conv2_block1_add"]')
    expect(add).to_be_hidden()
    block.locator(":scope > summary").click()
    expect(add).to_be_visible()
    # The Add merges the shortcut and the main branch: both are named and linked.
    inbound = add.locator("td.inbound a")
    expect(inbound).to_have_text(["conv2_block1_0_bn", "conv2_block1_3_bn"])
    tab.page.get_by_role("button", name="Collapse all").click()
    expect(add).to_be_hidden()
    tab.page.get_by_role("button", name="Expand all").click()
    expect(tab.page.locator('[id="layer-conv5_block3_out"]')).to_be_visible()
    tab.shoot("a11y-report-resnet50-expanded")
    assert tab.console_errors() == []
    tab.page.context.close()


def test_failed_upload_keeps_the_form_with_the_file_chosen(browser, server, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("These are my notes, not a model.\n")
    for viewport_name, viewport in VIEWPORTS.items():
        tab = open_tab(browser, server, viewport=viewport)
        tab.expected_statuses = {415}
        page = tab.page
        tab.open("/")
        page.locator("#file-check-off").check()
        page.set_input_files("#file", notes)
        page.get_by_role("button", name="Explain this file").click()
        problem = page.locator("#upload-form [data-upload-error]")
        expect(problem.locator("#error-code")).to_have_text("unsupported-format")
        expect(problem).to_contain_text("This file is not a Keras model")
        expect(problem.locator(".next")).to_contain_text("Upload a .keras archive")
        assert page.url.endswith("/?error=unsupported-format")  # its own history entry
        expect(page).to_have_title("unsupported-format · keras-explainer")
        # The form is still there, with the file and the options chosen.
        assert page.evaluate("document.getElementById('file').files[0].name") == "notes.txt"
        expect(page.locator("#file-check-off")).to_be_checked()
        expect(page.get_by_role("button", name="Explain this file")).to_be_enabled()
        tab.shoot(f"a11y-upload-error-{viewport_name}")
        assert severe_violations(page) == []
        page.go_back()
        assert re.search(r"/$", page.url)
        expect(problem).to_be_hidden()
        assert tab.console_errors() == []
        page.context.close()


def test_wrong_inputs_say_which_shapes_were_expected_and_given(tab, seed_file, tmp_path):
    inputs = tmp_path / "inputs.npy"
    np.save(inputs, np.zeros((2, 5), dtype="float32"))  # the seed model takes (None, 4096)
    page = tab.page
    tab.expected_statuses = {400}
    tab.open("/")
    page.set_input_files("#file", seed_file)
    page.locator("#upload-form details.more-options summary").click()
    page.set_input_files("#file-inputs", inputs)
    page.get_by_role("button", name="Explain this file").click()
    problem = page.locator("#upload-form [data-upload-error]")
    expect(problem.locator("#error-code")).to_have_text("invalid-request")
    expect(problem).to_contain_text("has shape (2, 5); the model expects (None, 4096)")
    expect(problem.locator(".next")).to_contain_text("Send inputs of shape (any size, 4096)")
    expect(problem.locator(".next")).to_contain_text("the file held (2, 5)")
    assert page.evaluate("document.getElementById('file').files[0].name") == "seed.keras"
    tab.shoot("a11y-upload-wrong-inputs")
    assert tab.console_errors() == []


def test_error_chart_bars_and_weight_statistics_work_from_the_keyboard(
    browser, server, seed_report
):
    for viewport_name, viewport in VIEWPORTS.items():
        tab = open_tab(browser, server, viewport=viewport, has_touch=viewport is PHONE)
        page = tab.page
        tab.open(f"/reports/{seed_report}")
        bar = page.locator("figure.error-chart a").nth(1)
        label = bar.get_attribute("aria-label")
        assert re.fullmatch(r"batch_normalization: max_rel_error \S+, passed", label)
        value = page.locator("figure.error-chart [data-bar-value]")
        expect(value).to_be_hidden()
        if viewport is PHONE:
            bar.locator("rect").tap()  # a tap focuses the bar and follows its link
        else:
            page.keyboard.press("Tab")  # the focus starts anywhere; the bar is focused by key
            bar.focus()
            expect(value).to_have_text(label)  # its value, seen beside the bar
            expect(value).to_be_visible()
            beside = value.bounding_box()
            drawn = bar.locator("rect").bounding_box()
            centre = drawn["x"] + drawn["width"] / 2
            assert beside["x"] <= centre <= beside["x"] + beside["width"]  # above its bar
            tab.shoot(f"a11y-error-bar-focused-{viewport_name}")
            page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"#check-row-1$"))
        expect(value).to_have_text(label)
        expect(value).to_be_visible()
        row = page.locator("#check-row-1")
        expect(row).to_be_visible()
        expect(row).to_contain_text("batch_normalization")
        stats = page.locator('[id="layer-dense"] details.wstats')
        if viewport is PHONE:
            stats.locator("summary").tap()
        else:
            stats.locator("summary").focus()
            page.keyboard.press("Enter")
        expect(stats.locator("li").first).to_contain_text("#0 kernel: min")
        expect(stats.locator("li").first).to_be_visible()
        tab.shoot(f"a11y-keyboard-{viewport_name}")
        assert tab.console_errors() == []
        page.context.close()


def test_layer_names_break_at_underscores_on_a_phone(browser, server, seed_report):
    tab = open_tab(browser, server, viewport=PHONE)
    tab.open(f"/reports/{seed_report}")
    name = tab.page.locator("#layer-batch_normalization th a.self")
    assert "_<wbr>" in name.inner_html()
    tab.page.context.close()


def test_class_summary_and_macs_formula_are_read_without_hovering(browser, server, seed_report):
    for viewport_name, viewport in VIEWPORTS.items():
        tab = open_tab(browser, server, viewport=viewport, has_touch=viewport is PHONE)
        page = tab.page
        tab.open(f"/reports/{seed_report}")
        row = page.locator('[id="layer-dense"]')
        about = row.locator("details.about")
        summary = about.locator("summary")
        expect(summary).to_have_text("Dense")
        assert summary.get_attribute("title") is None
        expect(about.locator("p")).to_be_hidden()
        if viewport is PHONE:
            summary.tap()
        else:
            summary.focus()
            page.keyboard.press("Enter")
        expect(about.locator("p")).to_be_visible()
        expect(about.locator("p")).to_contain_text("activation(inputs · kernel + bias)")
        # The MACs formula is printed under the row, with the layer by hand: 4096 · 512.
        assert row.locator("td.macs").get_attribute("title") is None
        by_hand = page.locator('[id="layer-dense"] + tr.hand')
        expect(by_hand).to_contain_text("= 2,097,152 MACs")
        expect(by_hand.locator("dd", has_text="2,097,152 MACs")).to_be_visible()
        tab.shoot(f"a11y-class-and-macs-{viewport_name}")
        assert tab.console_errors() == []
        page.context.close()
