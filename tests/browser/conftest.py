"""A real `keras-explainer serve` with a Keras worker, and Debian's Chromium driven by Playwright.

Chromium comes from the `chromium` package (`make test` installs it when it is missing);
Playwright cannot download its own browser here. Without Chromium these tests are skipped on a
developer's machine and fail under CI, where a skip would hide that nothing was tested.
Screenshots of every page go to `test-artifacts/` (kept out of git) for a person to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.live import serving

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
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


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
def server(tmp_path_factory) -> Iterator[str]:
    """`keras-explainer serve` with one Keras worker, so checks really run."""
    with serving(tmp_path_factory.mktemp("browser-data"), workers=1) as live:
        yield live.base


@dataclass
class Tab:
    """One browser page on the server, with what its console said."""

    page: object
    base: str
    errors: list[str] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)

    def open(self, path: str):
        return self.page.goto(self.base + path)

    def shoot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def console_errors(self) -> list[str]:
        """Console errors, less the browser's own note of an error status a test asked for."""
        noted = [f"status of {status} " for status in self.expected_statuses]
        return [e for e in self.errors if not any(note in e for note in noted)]


def _console(tab: Tab):
    def on_message(message) -> None:
        if message.type == "error":
            tab.errors.append(message.text)

    return on_message


def open_tab(browser, base: str, *, javascript: bool = True, viewport=None, **options) -> Tab:
    context = browser.new_context(
        viewport=viewport or LAPTOP, java_script_enabled=javascript, **options
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    tab = Tab(page, base)
    page.on("console", _console(tab))
    page.on("pageerror", lambda error: tab.errors.append(f"page error: {error}"))
    return tab


@pytest.fixture
def tab(browser, server) -> Iterator[Tab]:
    tab = open_tab(browser, server)
    yield tab
    tab.page.context.close()
