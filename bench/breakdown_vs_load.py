"""The breakdown of ResNet50 through the API against Keras' own load_model, in one run.

    .venv/bin/python bench/breakdown_vs_load.py [--repeats 5]

Both sides get the same ResNet50(weights=None) `.keras` file (98 MB). Ours: POST to a real
`keras-explainer serve` (no check: check=false), upload included, the report with every
weight's statistics back. Keras': `keras.saving.load_model(path, compile=False)` in this
process, warm (one load done before timing). Target (issue 6): ours at least 20x faster.

Also measured, as the floor of any breakdown through the API: the same upload refused once
it has arrived (a form field `mode=bogus`, which the server judges after reading the body),
so the time of sending, receiving, hashing and writing the 98 MB and nothing else. Target
(issue 12): the breakdown at most 2x the upload alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx2  # noqa: E402
import keras  # noqa: E402
from _server import best_of, post_file, serving  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "resnet50.keras"
        keras.applications.ResNet50(weights=None).save(path)
        keras.saving.load_model(path, compile=False)  # warm-up
        keras_s = best_of(lambda: keras.saving.load_model(path, compile=False), args.repeats)
        with serving() as (base, _):
            assert post_file(base, path, check="false").status_code == 201  # warm-up
            ours_s = best_of(lambda: post_file(base, path, check="false"), args.repeats)
            upload_s = best_of(lambda: upload_alone(base, path), args.repeats)
        size_mb = path.stat().st_size / 1e6
    print(f"file                         : ResNet50 .keras, {size_mb:.0f} MB")
    print(f"keras load_model (warm)      : {keras_s * 1e3:8.1f} ms")
    print(f"explainer breakdown via API  : {ours_s * 1e3:8.1f} ms")
    print(f"speed-up                     : {keras_s / ours_s:8.1f}x  (target >= 20x)")
    print(f"the upload alone (refused)   : {upload_s * 1e3:8.1f} ms")
    print(f"speed-up the upload allows   : {keras_s / upload_s:8.1f}x  (at most)")
    print(f"breakdown / the upload alone : {ours_s / upload_s:8.1f}x  (target <= 2x)")


def upload_alone(base: str, path: Path) -> None:
    with path.open("rb") as fh:
        response = httpx2.post(
            f"{base}/api/v1/reports",
            files={"file": (path.name, fh)},
            data={"mode": "bogus"},
            timeout=600,
        )
    assert response.status_code == 400, response.text


if __name__ == "__main__":
    main()
