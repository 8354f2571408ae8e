"""axe-core, the accessibility engine, run inside a page of the browser tests.

`make install-test` puts it beside the venv from the npm registry (`AXE_VERSION` in the
Makefile). Without it the accessibility tests are skipped on a developer's machine and fail
under CI, as the browser tests do without Chromium.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

AXE = Path(__file__).resolve().parents[2] / ".venv" / "npm" / "node_modules" / "axe-core"
SEVERE = ("serious", "critical")
RUN = """async () => {
    const result = await axe.run(document, {resultTypes: ["violations"]});
    return result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
    }));
}"""


def require_axe() -> Path:
    script = AXE / "axe.min.js"
    if not script.exists():
        reason = f"{script} is missing (make install-test installs axe-core)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return script


def severe_violations(page) -> list[dict]:
    """axe-core's serious and critical findings on the page as it stands."""
    page.add_script_tag(path=str(require_axe()))
    return [v for v in page.evaluate(RUN) if v["impact"] in SEVERE]
