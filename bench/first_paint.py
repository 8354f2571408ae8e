"""Time to first paint of the report page in Chromium, on ResNet50 and EfficientNetB0.

    .venv/bin/python bench/first_paint.py [FILE ...]

Without files, writes `keras.applications.ResNet50(weights=None)` and `EfficientNetB0` to a
temporary folder first (as bench/page_weight.py does). A real `keras-explainer serve` (no
workers) explains each file; Debian's Chromium (/usr/bin/chromium, driven by Playwright)
then opens its report page five times with an empty cache, once as it is and once over a
throttled link (1.6 Mbit/s down, 150 ms round trip: Chrome's "fast 3G"). Printed per file and
link, medians: bytes transferred for the HTML, first contentful paint, DOMContentLoaded and
load, in milliseconds from the start of navigation.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx2  # noqa: E402

from bench._server import serving  # noqa: E402
from bench.page_weight import write_models  # noqa: E402

RUNS = 5
FAST_3G = {"latency": 150, "downloadThroughput": 1.6e6 / 8, "uploadThroughput": 750e3 / 8}
TIMINGS = """() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const fcp = performance.getEntriesByName("first-contentful-paint")[0];
    return {bytes: nav.transferSize, fcp: fcp ? fcp.startTime : null,
            dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd};
}"""


def upload(base: str, path: Path) -> str:
    with path.open("rb") as fh:
        response = httpx2.post(
            f"{base}/api/v1/reports",
            params={"check": "false"},
            files={"file": (path.name, fh)},
            timeout=300,
        )
    response.raise_for_status()
    return f"{base}/reports/{response.json()['id']}"


def one_visit(browser, url: str, throttled: bool) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    if throttled:
        session = context.new_cdp_session(page)
        session.send("Network.enable")
        session.send("Network.emulateNetworkConditions", {"offline": False, **FAST_3G})
    page.goto(url, wait_until="load")
    page.wait_for_timeout(200)  # the paint entries are queued after load
    timings = page.evaluate(TIMINGS)
    context.close()
    return timings


def visits(browser, url: str, throttled: bool) -> dict[str, float]:
    runs = [one_visit(browser, url, throttled) for _ in range(RUNS)]
    return {key: statistics.median(run[key] or 0 for run in runs) for key in runs[0]}


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(p) for p in sys.argv[1:]] or write_models(Path(folder))
        with serving() as (base, _), sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            for path in paths:
                url = upload(base, path)
                for throttled in (False, True):
                    got = visits(browser, url, throttled)
                    link = "fast 3G" if throttled else "loopback"
                    print(
                        f"{path.name} ({link}): {got['bytes']:,.0f} bytes transferred, "
                        f"first contentful paint {got['fcp']:.0f} ms, "
                        f"DOMContentLoaded {got['dcl']:.0f} ms, load {got['load']:.0f} ms"
                    )
            browser.close()


if __name__ == "__main__":
    main()
