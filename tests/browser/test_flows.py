"""What a person does in a browser, and what they read: upload, report, check, BN page, errors."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.browser import PHONE, open_tab
from tests.support.files import saved
from tests.support.kerasref import keras
from tests.support.models import seed_model
from tests.support.pages import fresh

REPORT_URL = re.compile(r"/reports/[0-9a-f]{32}$")
CHECK_TIMEOUT_MS = 180_000  # a cold Keras worker on two shared cores


@pytest.fixture
def new_seed_file(tmp_path) -> Path:
    """The seed model saved anew (the archive's save time differs): bytes no report was made
    from, so the upload starts a check of its own."""
    return saved(fresh(seed_model), tmp_path / "seed.keras")


RECORD_PERCENTS = """() => {
    window.seenPercents = [];
    const label = document.querySelector("#check [data-progress-percent]");
    const note = () => window.seenPercents.push(parseInt(label.textContent, 10));
    const what = {childList: true, characterData: true, subtree: true};
    new MutationObserver(note).observe(label, what);
}"""


def densenet_spec() -> str:
    """DenseNet121 (427 layers) inside a Sequential: hundreds of layers, one nested model."""

    def build():
        base = keras.applications.DenseNet121(
            weights=None, include_top=False, input_shape=(64, 64, 3)
        )
        layers = [keras.Input((64, 64, 3)), base, keras.layers.GlobalAveragePooling2D()]
        return keras.Sequential([*layers, keras.layers.Dense(4)])

    return fresh(build).to_json()


def test_seed_upload_shows_the_breakdown_and_follows_the_check(tab, new_seed_file):
    page = tab.page
    tab.open("/")
    expect(page.get_by_role("heading", name="Explain a Keras model")).to_be_visible()
    tab.shoot("upload")
    page.set_input_files("#file", new_seed_file)
    expect(page.locator("[data-chosen]")).to_have_text("seed.keras · 8.6 MB")
    posts = []
    page.on("request", lambda r: posts.append(r.resource_type) if r.method == "POST" else None)
    page.get_by_role("button", name="Explain this file").click()
    page.wait_for_url(REPORT_URL)
    assert posts == ["xhr"]  # sent by upload.js, which shows the upload's progress

    expect(page.locator("#total-params")).to_have_text("2,140,752")
    expect(page.locator("#trainable-params")).to_have_text("2,139,728")
    expect(page.locator("#non-trainable-params")).to_have_text("1,024")
    roles = page.locator("#batchnorm td.roles")
    expect(roles).to_have_text("2: gamma 3: beta 4: moving_mean 5: moving_variance")
    expect(page.locator("#share-layers svg.share-bar")).to_have_count(3)
    expect(page.locator("#share-layers tbody th").first).to_contain_text("dense")

    badge = page.locator("#check .badge")
    assert badge.inner_text() in ("Queued", "Running"), "the check ended before the page loaded"
    expect(page.locator("#check progress")).to_be_visible()
    expect(page.locator("#check [data-live-hint]")).to_be_visible()
    page.evaluate("window.loadedOnce = true")
    page.evaluate(RECORD_PERCENTS)
    tab.shoot("report-check-running")

    expect(badge).to_have_text("Passed", timeout=CHECK_TIMEOUT_MS)
    assert page.evaluate("window.loadedOnce") is True  # the page updated itself, no reload
    seen = page.evaluate("window.seenPercents")
    assert seen == sorted(seen) and all(0 <= p <= 100 for p in seen)  # the bar never goes back
    check = page.locator("#check")
    expect(check).to_contain_text("Every layer matches Keras within 0.0001")
    expect(check.locator("figure.error-chart rect.bar.passed")).to_have_count(4)
    expect(check.locator("details.check-layers summary")).to_have_text("The 4 layers compared")
    expect(page.locator("[data-live=check-card]")).to_contain_text("Passed")
    tab.shoot("report-check-passed")
    assert tab.console_errors() == []


def test_a_file_dropped_on_the_form_is_the_one_sent(tab):
    page = tab.page
    tab.open("/")
    dropped = page.evaluate_handle(
        """() => {
            const data = new DataTransfer();
            data.items.add(new File(["12345"], "dropped.keras"));
            return data;
        }"""
    )
    page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": dropped})
    expect(page.locator("[data-chosen]")).to_have_text("dropped.keras · 5 B")
    assert page.evaluate("document.getElementById('file').files[0].name") == "dropped.keras"
    assert tab.console_errors() == []


def test_batchnorm_page_shows_formula_order_and_charts(tab, server, seed_report):
    page = tab.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    tab.open(f"/reports/{seed_report}")
    page.locator("#batchnorm").get_by_role("link", name="batch_normalization").click()
    page.wait_for_url(re.compile(r"/batchnorm/batch_normalization$"))

    expect(page.locator("#epsilon")).to_have_text("0.001")
    expect(page.locator("#inference-formula")).to_have_text(
        "y[c] = gamma[c] · (x[c] − moving_mean[c]) / √(moving_variance[c] + 0.001) + beta[c], "
        "for each of the 512 channels c along axis -1"
    )
    expect(page.locator("#worked-example")).to_contain_text("= 0.9995004 · x + 0")
    order = "layer.set_weights([gamma, beta, moving_mean, moving_variance])"
    expect(page.locator("#set-weights-snippet")).to_contain_text(order)
    charts = page.locator("figure.channel-chart svg")
    expect(charts).to_have_count(6)
    for i in range(6):
        expect(charts.nth(i)).to_be_visible()
    modes = page.locator("table.modes")
    expect(modes.locator("thead th")).to_have_text(
        ["Channel", "Input x", "Inference", "Training", "Keras (inference)"]
    )
    expect(page.locator(".finding h3").first).to_contain_text("Never trained")

    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.splitlines()[2] == order
    tab.shoot("batchnorm")
    assert tab.console_errors() == []

    phone = open_tab(page.context.browser, server, viewport=PHONE)
    phone.open(f"/reports/{seed_report}/batchnorm/batch_normalization")
    expect(phone.page.locator("figure.channel-chart svg").first).to_be_visible()
    phone.shoot("batchnorm-phone")
    assert phone.console_errors() == []
    phone.page.context.close()


def test_pages_fit_a_phone(browser, server, seed_report):
    phone = open_tab(browser, server, viewport=PHONE)
    for path, name in [("/", "upload-phone"), (f"/reports/{seed_report}", "report-phone")]:
        phone.open(path)
        expect(phone.page.locator("h1")).to_be_visible()
        width = phone.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], path  # wide tables scroll in their box, not the page
        phone.shoot(name)
    expect(phone.page.locator("#total-params")).to_have_text("2,140,752")
    assert phone.console_errors() == []
    phone.page.context.close()


def test_text_file_upload_shows_the_error_page_with_its_code(tab, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("These are my notes, not a model.\n")
    page = tab.page
    tab.expected_statuses = {415}
    tab.open("/")
    page.set_input_files("#file", notes)
    page.get_by_role("button", name="Explain this file").click()
    expect(page.locator("#error-code")).to_have_text("unsupported-format")
    # Beside the form, which stays (tests/browser/test_accessibility.py follows it further).
    expect(page.locator("#upload-form [data-upload-error]")).to_contain_text(
        "This file is not a Keras model"
    )
    expect(page.locator(".next")).to_contain_text("Upload a .keras archive")
    expect(page).to_have_title("unsupported-format · keras-explainer")
    tab.shoot("error-unsupported-format")
    assert tab.console_errors() == []


def test_text_file_upload_without_javascript_gets_the_same_page(browser, server, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("These are my notes, not a model.\n")
    tab = open_tab(browser, server, javascript=False)
    tab.expected_statuses = {415}
    tab.open("/")
    tab.page.set_input_files("#file", notes)
    with tab.page.expect_navigation() as navigation:
        tab.page.get_by_role("button", name="Explain this file").click()
    assert navigation.value.status == 415
    expect(tab.page.locator("#error-code")).to_have_text("unsupported-format")
    assert tab.console_errors() == []
    tab.page.context.close()


def test_hundreds_of_layers_stay_usable(tab):
    page = tab.page
    tab.open("/")
    page.locator("#spec").fill(densenet_spec())
    page.locator("#spec-check-off").check()
    started = time.monotonic()
    page.get_by_role("button", name="Explain this spec").click()
    page.wait_for_url(REPORT_URL)
    page.wait_for_load_state("load")
    assert time.monotonic() - started < 15, "the report of 430 layers took too long"

    shown = page.locator("[data-shown]")
    expect(shown).to_have_text("429")
    group = page.locator("details[data-group]").first
    expect(group.locator(":scope > summary")).to_contain_text("densenet121 Functional 427 layers")
    conv1 = page.locator('[id="layer-densenet121/conv1_conv"]')
    expect(conv1).to_be_hidden()  # a model this large starts folded
    page.get_by_role("button", name="Expand all").click()
    expect(conv1).to_be_visible()
    page.get_by_role("button", name="Collapse all").click()
    expect(conv1).to_be_hidden()

    started = time.monotonic()
    page.get_by_label("Class").select_option("BatchNormalization")
    expect(shown).to_have_text("121")
    assert time.monotonic() - started < 3, "filtering 430 rows took too long"
    bn = page.locator('[id="layer-densenet121/conv1_bn"]')
    expect(bn).to_be_visible()  # the filter unfolds the groups it matches in
    expect(conv1).to_be_hidden()
    page.get_by_label("Name contains").fill("conv5_block16")
    expect(shown).to_have_text("2")
    assert page.url.endswith("?class=BatchNormalization&q=conv5_block16")
    tab.shoot("report-hundreds-of-layers-filtered")

    page.reload()  # the address keeps the filter; the server applies it
    expect(shown).to_have_text("2")
    assert tab.console_errors() == []


def test_report_without_javascript_filters_and_shows_the_check_as_loaded(
    browser, server, seed_report
):
    tab = open_tab(browser, server, javascript=False)
    tab.open(f"/reports/{seed_report}")
    expect(tab.page.locator("#check .badge")).to_have_text("Passed")
    tab.page.get_by_label("Class").select_option("Dense")
    tab.page.get_by_role("button", name="Filter").click()
    tab.page.wait_for_url(re.compile(r"\?class=Dense"))
    expect(tab.page.locator("[data-shown]")).to_have_text("2")
    expect(tab.page.locator("#layer-batch_normalization")).to_be_hidden()
    tab.shoot("report-no-javascript-filtered")
    assert tab.console_errors() == []
    tab.page.context.close()
