"""The report page's form "Compare with your own numbers", driven in Chromium: DESIGN.md's
seed question, the numbers pasted as JSON, the inputs and the model given as files."""

from __future__ import annotations

import json
import re

import numpy as np
from playwright.sync_api import expect

from tests.support.browser import post_report
from tests.support.models import SEED_INPUT, seed_spec


def test_pasted_numbers_are_diagnosed_as_batch_statistics(tab, server, tmp_path):
    spec = tmp_path / "seed.json"
    spec.write_text(seed_spec())
    layer = json.loads(spec.read_text())["config"]["layers"][-1]["config"]["name"]
    inputs = tmp_path / "x.npy"
    np.save(inputs, SEED_INPUT)
    report_id = post_report(server, spec)

    page = tab.page
    tab.open(f"/reports/{report_id}")
    form = page.locator("#yours-form")
    expect(page.get_by_role("heading", name="Compare with your own numbers")).to_be_visible()
    page.fill("#yours-json", json.dumps({layer: [[-1, -1], [1, 1]]}))
    page.set_input_files("#yours-inputs", str(inputs))
    page.set_input_files("#yours-model", str(spec))
    tab.shoot("diagnosis-form")
    form.get_by_role("button", name="Diagnose my numbers").click()
    page.wait_for_url(re.compile(r"/reports/[0-9a-f]+/diagnoses$"))

    expect(page.locator("[data-verdict]")).to_have_attribute("data-verdict", "explained")
    top = page.locator("li.mistake").first
    expect(top).to_have_attribute("data-code", "batchnorm-batch-statistics")
    expect(top).to_contain_text("moving_mean and moving_variance")
    expect(top).to_contain_text("0.9995004")
    tab.shoot("diagnosis-page")
    assert tab.console_errors() == []
