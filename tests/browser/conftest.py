"""A real `keras-explainer serve` with a Keras worker, and Debian's Chromium driven by Playwright.

Chromium comes from the `chromium` package (`make test` installs it when it is missing);
Playwright cannot download its own browser here. Without Chromium these tests are skipped on a
developer's machine and fail under CI, where a skip would hide that nothing was tested.
Screenshots of every page go to `test-artifacts/` (kept out of git) for a person to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import Tab, open_tab, post_report
from tests.support.files import saved
from tests.support.live import Server, serving
from tests.support.models import seed_model
from tests.support.pages import fresh

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require_browser():
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason, sync_playwright = "playwright is not installed (pip install -e '.[test]')", None
    if reason is None and not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium; `make test` does it)"
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return sync_playwright


@pytest.fixture(scope="session")
def browser():
    sync_playwright = _require_browser()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def served(tmp_path_factory) -> Iterator[Server]:
    """`keras-explainer serve` with one Keras worker, so checks really run."""
    with serving(tmp_path_factory.mktemp("browser-data"), workers=1) as live:
        yield live


@pytest.fixture(scope="session")
def server(served) -> str:
    """The served pages' address."""
    return served.base


@pytest.fixture
def tab(browser, server) -> Iterator[Tab]:
    tab = open_tab(browser, server)
    yield tab
    tab.page.context.close()


@pytest.fixture(scope="session")
def seed_file(tmp_path_factory) -> Path:
    """The seed model saved once (Dense, BatchNormalization 512, Dense): the pages' example."""
    return saved(fresh(seed_model), tmp_path_factory.mktemp("seed") / "seed.keras")


@pytest.fixture(scope="session")
def seed_report(server, seed_file) -> str:
    """The seed model's report with its check passed: chart, outputs box, modes table."""
    return post_report(server, seed_file, check=True, mode="inference")
