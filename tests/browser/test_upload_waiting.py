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
from tests.support.live import fork_server, paused
from tests.support.models import seed_model
from tests.support.pages import fresh

# Every text the waiting label shows, as it changes (the page is left for the report, so the
# texts go to the console, which the test reads).
RECORD_LABEL = """() => {
    const label = document.querySelector("#upload-form [data-upload-label]");
    const what = {childList: true, characterData: true, subtree: true};
    new MutationObserver(() => console.log("label: " + label.textContent)).observe(label, what);
}"""
BROKEN_SPEC = '{"class_name": "Sequential",\n "config": {"name": "s", "layers": [\n'


def test_while_the_server_reads_the_model_the_page_shows_its_stage(tab, served, tmp_path):
    path = saved(fresh(seed_model), tmp_path / "fresh.keras")  # new weights: not in the store
    page = tab.page
    labels = []
    page.on("console", lambda m: labels.append(m.text[7:]) if m.text.startswith("label: ") else 0)
    tab.open("/")
    page.evaluate(RECORD_LABEL)
    page.set_input_files("#file", path)
    page.locator("#file-check-off").check()
    # The server reads a model in a process from its fork server. With the fork server
    # stopped, the server is held at "reading" for as long as the test needs, however fast
    # this machine reads (a 470 MB model once took seconds; by now it takes half a second,
    # less than the page's poll, and the stage was seen or not by luck).
    with paused(fork_server(served.pid)):
        page.get_by_role("button", name="Explain this file").click()
        steps = page.locator("#upload-form [data-stages]")
        expect(steps.locator("li.current")).to_have_text("Reading the model", timeout=60_000)
        expect(page.locator("#upload-form [data-upload-label]")).to_have_text(
            re.compile(
                r"^Step 2 of 3 · Reading the model: the safety scan, then its layers "
                r"and weights( \(\d+ s\))?…$"
            )
        )
        tab.shoot("wait-stage")  # the server cannot answer yet: the page stays
    page.wait_for_url(re.compile(r"/reports/[0-9a-f]{32}$"), timeout=120_000)
    stages = [text.split(" · ")[0] for text in labels if text.startswith("Step ")]
    assert stages == sorted(stages)  # never back to an earlier stage
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
