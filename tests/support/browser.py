"""A browser tab on the live server, with what its console said; screenshots for a person."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAPTOP = {"width": 1280, "height": 860}
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}  # what issue 17's pages are checked at


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
