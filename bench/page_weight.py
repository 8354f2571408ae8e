"""The weight of the report page (bytes of HTML) on ResNet50 and EfficientNetB0.

    .venv/bin/python bench/page_weight.py [FILE ...]

Without files, writes `keras.applications.ResNet50(weights=None)` and `EfficientNetB0` to a
temporary folder first. Each file is explained in-process (no check), then its report page
is fetched: printed are the HTML's bytes, the bytes the server sends to a browser that
accepts gzip (the same as the HTML when the server does not compress), and the time to render
and send it, best of three, after the first view (which draws the model's graph with Graphviz
and keeps it: its time is printed apart).
"""

from __future__ import annotations

import gzip
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient  # noqa: E402

from app.config import Settings  # noqa: E402
from app.main import create_app  # noqa: E402

MODELS = ("ResNet50", "EfficientNetB0")


def write_models(folder: Path) -> list[Path]:
    import keras

    paths = []
    for name in MODELS:
        path = folder / f"{name}.keras"
        getattr(keras.applications, name)(weights=None).save(path)
        paths.append(path)
    return paths


def measure(client: TestClient, path: Path) -> tuple[int, int, float, float]:
    """(bytes of HTML, bytes sent, seconds, the first view's seconds) of the file's page."""
    with path.open("rb") as fh:
        response = client.post(
            "/api/v1/reports", params={"check": "false"}, files={"file": (path.name, fh)}
        )
    response.raise_for_status()
    url = f"/reports/{response.json()['id']}"
    start = time.perf_counter()
    client.get(url, headers={"accept": "text/html"}).raise_for_status()
    first = time.perf_counter() - start
    times = []
    for _ in range(3):
        start = time.perf_counter()
        page, sent = fetch(client, url)
        times.append(time.perf_counter() - start)
    page.raise_for_status()
    html = gzip.decompress(sent) if page.headers.get("content-encoding") == "gzip" else sent
    return len(html), len(sent), min(times), first


def fetch(client: TestClient, url: str):
    """The response and its body as sent (httpx would otherwise unzip it)."""
    headers = {"accept": "text/html", "accept-encoding": "gzip"}
    with client.stream("GET", url, headers=headers) as response:
        return response, b"".join(response.iter_raw())


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(p) for p in sys.argv[1:]] or write_models(Path(folder))
        settings = Settings(data_dir=Path(folder) / "data", workers=0)
        with TestClient(create_app(settings)) as client:
            for path in paths:
                html, sent, seconds, first = measure(client, path)
                print(
                    f"{path.name}: {html:,} bytes of HTML, {sent:,} sent, {seconds:.3f} s "
                    f"(the first view {first:.3f} s)"
                )


if __name__ == "__main__":
    main()
