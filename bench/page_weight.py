"""The weight of the report page (bytes of HTML) on ResNet50 and EfficientNetB0.

    .venv/bin/python bench/page_weight.py [FILE ...]

Without files, writes `keras.applications.ResNet50(weights=None)` and `EfficientNetB0` to a
temporary folder first. Each file is explained in-process (no check), then its report page
is fetched: printed are the HTML's bytes, gzipped bytes (what a browser receives) and the
time to render it, best of three, after the first view (which draws the model's graph with
Graphviz and keeps it: its time is printed apart).
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
        page = client.get(url, headers={"accept": "text/html"})
        times.append(time.perf_counter() - start)
    page.raise_for_status()
    return len(page.content), len(gzip.compress(page.content)), min(times), first


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(p) for p in sys.argv[1:]] or write_models(Path(folder))
        settings = Settings(data_dir=Path(folder) / "data", workers=0)
        with TestClient(create_app(settings)) as client:
            for path in paths:
                html, zipped, seconds, first = measure(client, path)
                print(
                    f"{path.name}: {html:,} bytes of HTML, {zipped:,} gzipped, {seconds:.3f} s "
                    f"(the first view {first:.3f} s)"
                )


if __name__ == "__main__":
    main()
