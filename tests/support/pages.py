"""What the page tests share: the text a person reads on a page, and reports to read it from."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from fastapi.testclient import TestClient

from app.schemas import LayerReport, Report
from tests.support.files import saved
from tests.support.kerasref import keras

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
UNREAD = {"script", "style", "title", "template"}
BLOCK = set("tr li p div h1 h2 h3 th td dt dd summary pre br label option".split())
BLOCK |= set("section table figure figcaption ul ol dl details".split())
HTML = {"accept": "text/html"}


class _Reader(HTMLParser):
    """Collects text outside `hidden` and `aria-hidden` elements (chart axis ticks), scripts and
    styles; <noscript> is read."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[bool] = []  # per open element: is it or an ancestor unread?

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        names = {name for name, _ in attrs}
        unread = bool(self.stack and self.stack[-1]) or tag in UNREAD
        unread = unread or "hidden" in names or ("aria-hidden", "true") in attrs
        self.stack.append(unread)
        if tag in BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag not in VOID and self.stack:
            self.stack.pop()
        if tag in BLOCK:
            self.parts.append(" ")

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def readable(html: str) -> str:
    """The page's visible text, whitespace collapsed: what a person reads."""
    reader = _Reader()
    reader.feed(html)
    return re.sub(r"\s+", " ", "".join(reader.parts)).strip()


def fresh(build, *args, **kwargs):
    """`build(...)` after clearing Keras' session, so layers get their first default names
    (`dense`, `batch_normalization`) whatever other tests built before."""
    keras.backend.clear_session()
    return build(*args, **kwargs)


def section(html: str, marker: str) -> str:
    """The markup after the element holding `marker` (e.g. an id) to the end of its section."""
    return html.split(marker, 1)[1].split(">", 1)[1].split("</section>")[0]


def page(client: TestClient, url: str, status: int = 200) -> str:
    response = client.get(url, headers=HTML)
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def upload(client: TestClient, model, tmp_path: Path, name: str = "m.keras", **fields) -> str:
    """Save `model`, post it as the upload form would, and return the report's id."""
    path = saved(model, tmp_path / name)
    response = client.post(
        "/api/v1/reports", files={"file": (name, path.read_bytes())}, data=fields
    )
    assert response.status_code == 201, response.text[:500]
    return response.json()["id"]


def store(client: TestClient, report: Report) -> str:
    """Keep `report` as the service would, and return its id."""
    client.app.state.reports.store.add(report)
    return report.id


def get_report(client: TestClient, report_id: str) -> Report:
    return client.app.state.reports.get(report_id)


def bare_layer(name: str, path: list[str], *, is_model: bool = False) -> LayerReport:
    """A layer without weights named `name` inside the models of `path` (a nested model's own
    row with `is_model`): what the layer table's folding looks at, and nothing else."""
    return LayerReport(
        name=name,
        class_name="Functional" if is_model else "Dense",
        path=path,
        depth=len(path),
        known=True,
        is_model=is_model,
        trainable=True,
        inbound=[],
        calls=1,
        output_shape=[None, 1],
        params=0,
        trainable_params=0,
        non_trainable_params=0,
        bytes=0,
        formula="0 (no weights)",
        summary="",
        weights=[],
    )
