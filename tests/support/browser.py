"""A browser tab on the live server, with what its console said; screenshots for a person."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import httpx2

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAPTOP = {"width": 1280, "height": 860}
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}  # what issue 17's pages are checked at
CHECK_TIMEOUT_S = 180  # a cold Keras worker on two shared cores


def post_report(base: str, path: Path, *, check: bool = False, **data: str) -> str:
    """The id of the report the live server made of the file at `path`; with `check`, the
    answer waits for the check, which must have passed (the page under test shows it)."""
    fields = {"check": "true", "wait": "true", **data} if check else {"check": "false", **data}
    with path.open("rb") as fh:
        response = httpx2.post(
            f"{base}/api/v1/reports",
            files={"file": (path.name, fh)},
            data=fields,
            timeout=CHECK_TIMEOUT_S if check else 300,
        )
    assert response.status_code in (200, 201), response.text[:300]
    if check:
        assert response.json()["check"]["status"] == "passed", response.json()["check"]
    return response.json()["id"]


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
