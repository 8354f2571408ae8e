"""The upload page while the server works and when it refuses: the stage the server reports
is shown as it waits (and without JavaScript the page says what happens); a pasted spec's
error appears beside its form, which keeps the text. Screenshots: test-artifacts/wait-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.axe import severe_violations
from tests.support.browser import VIEWPORTS, open_tab
from tests.support.files import saved
from tests.support.kerasref import keras
from tests.support.pages import fresh

# Every text the waiting label shows, as it changes (the page is left for the report, so the
# texts go to the console, which the test reads).
RECORD_LABEL = """() => {
    const label = document.querySelector("#upload-form [data-upload-label]");
    const what = {childList: true, characterData: true, subtree: true};
    new MutationObserver(() => console.log("label: " + label.textContent)).observe(label, what);
}"""
BROKEN_SPEC = '{"class_name": "Sequential",\n "config": {"name": "s", "layers": [\n'


def heavy_model():
    """470 MB of float32 Dense weights (117.5M): seconds to scan, read and take statistics
    of, so the server is seen at its stages (134 MB read in less than the page's first two
    polls once the reading got faster)."""
    dense = keras.layers.Dense
    return keras.Sequential([keras.Input((4096,)), dense(8192), dense(8192), dense(2048)])


def test_reading_a_large_model_shows_the_servers_stages(tab, tmp_path):
    path = saved(fresh(heavy_model), tmp_path / "heavy.keras")
    page = tab.page
    labels = []
    page.on("console", lambda m: labels.append(m.text[7:]) if m.text.startswith("label: ") else 0)
    tab.open("/")
    page.evaluate(RECORD_LABEL)
    page.set_input_files("#file", path)
    page.locator("#file-check-off").check()
    page.get_by_role("button", name="Explain this file").click()
    steps = page.locator("#upload-form [data-stages]")
    expect(steps.locator("li.current")).to_have_text(
        re.compile("Reading the model|Making the report"), timeout=60_000
    )
    tab.shoot("wait-stage")
    page.wait_for_url(re.compile(r"/reports/[0-9a-f]{32}$"), timeout=120_000)
    stages = [text for text in labels if text.startswith("Step ")]
    # What only the server knows: reading the model (seconds for 470 MB). Making the report
    # after it takes well under the page's half-second poll on a quiet machine, so whether a
    # poll lands in it is luck; the order is not.
    assert any(t.startswith("Step 2 of 3 · Reading the model: the safety scan") for t in stages)
    first = [t.split(" · ")[0] for t in stages]
    assert first == sorted(first)  # never back to an earlier stage
    assert tab.console_errors() == []


def test_upload_page_without_javascript_says_the_server_reads_before_it_answers(browser, server):
    tab = open_tab(browser, server, javascript=False)
    tab.open("/")
    note = tab.page.locator("#upload-form").get_by_text("the server reads the model before")
    expect(note).to_be_visible()
    tab.page.context.close()


@pytest.mark.parametrize("viewport_name", sorted(VIEWPORTS))
def test_a_pasted_spec_that_fails_keeps_its_text_beside_the_error(browser, server, viewport_name):
    tab = open_tab(browser, server, viewport=VIEWPORTS[viewport_name])
    tab.expected_statuses = {400}
    page = tab.page
    tab.open("/")
    page.locator("#spec").fill(BROKEN_SPEC)
    page.locator("#spec-check-off").check()
    page.get_by_role("button", name="Explain this spec").click()
    problem = page.locator("#spec-form [data-upload-error]")
    expect(problem.locator("#error-code")).to_have_text("invalid-spec")
    expect(problem).to_contain_text("The spec is not valid JSON (line 3, column 1)")
    # The next step names the place, and the caret is put there: line 3 is the empty end.
    expect(problem.locator(".next")).to_contain_text("The JSON breaks at line 3, column 1")
    expect(page.locator("#spec")).to_be_focused()
    assert page.evaluate("document.getElementById('spec').selectionStart") == len(BROKEN_SPEC)
    assert page.url.endswith("/?error=invalid-spec")  # its own history entry
    expect(page).to_have_title("invalid-spec · keras-explainer")
    expect(page.locator("#spec")).to_have_value(BROKEN_SPEC)  # the pasted text is kept
    expect(page.locator("#spec-check-off")).to_be_checked()
    expect(page.get_by_role("button", name="Explain this spec")).to_be_enabled()
    expect(page.locator("#upload-form [data-upload-error]")).to_be_hidden()
    tab.shoot(f"wait-spec-error-{viewport_name}")
    assert severe_violations(page) == []
    page.go_back()
    assert page.url.endswith("/")
    expect(problem).to_be_hidden()
    expect(page.locator("#spec")).to_have_value(BROKEN_SPEC)
    assert tab.console_errors() == []
    page.context.close()


def test_a_pasted_spec_of_unknown_layers_gets_its_own_next_step(tab):
    spec = (
        '{"class_name": "Sequential", "config": {"name": "s", "layers": '
        '[{"class_name": "Foo", "config": {"name": "f"}}]}}'
    )
    tab.expected_statuses = {422}
    page = tab.page
    tab.open("/")
    page.locator("#spec").fill(spec)
    page.get_by_role("button", name="Explain this spec").click()
    problem = page.locator("#spec-form [data-upload-error]")
    expect(problem.locator("#error-code")).to_have_text("unknown-layers")
    expect(problem).to_contain_text("layer classes the explainer does not know: Foo")
    expect(problem.locator(".next")).to_contain_text("Upload the saved model file instead")
    expect(page.locator("#spec")).to_have_value(spec)
    assert tab.console_errors() == []


def test_a_pasted_spec_that_fails_without_javascript_gets_the_error_page(browser, server):
    tab = open_tab(browser, server, javascript=False)
    tab.expected_statuses = {400}
    tab.open("/")
    tab.page.locator("#spec").fill(BROKEN_SPEC)
    with tab.page.expect_navigation() as navigation:
        tab.page.get_by_role("button", name="Explain this spec").click()
    assert navigation.value.status == 400
    expect(tab.page.locator("#error-code")).to_have_text("invalid-spec")
    expect(tab.page.locator(".next")).to_contain_text("The JSON breaks at line 3, column 1")
    tab.page.context.close()
