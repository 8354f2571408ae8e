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

The two requests are run in turns (breakdown, upload, breakdown, ...) so that both see the
same load on a shared machine, each the best of `--repeats` by wall clock. After each breakdown
the bench waits until the server has written the report's program (check=false writes it
after answering, in another reading process: app.export.unchecked), so that the next
request does not share the two cores with it: each breakdown is measured as a single
request on an idle server sees it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import time  # noqa: E402

import httpx2  # noqa: E402
import keras  # noqa: E402
from _server import best_of, post_file, serving  # noqa: E402

SETTLE_POLL_S = 0.2


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
            settle(base, post_file(base, path, check="false"))  # warm-up
            upload_alone(base, path)
            ours, upload = [], []
            for _ in range(args.repeats):
                ours.append(timed(lambda: post_file(base, path, check="false")))
                settle(base, ours[-1][1])  # unmeasured: the program written after the answer
                upload.append(timed(lambda: upload_alone(base, path)))
        size_mb = path.stat().st_size / 1e6
    ours_s, upload_s = min(t for t, _ in ours), min(t for t, _ in upload)
    print(f"file                         : ResNet50 .keras, {size_mb:.0f} MB")
    print(f"keras load_model (warm)      : {keras_s * 1e3:8.1f} ms")
    print(f"explainer breakdown via API  : {ours_s * 1e3:8.1f} ms")
    print(f"speed-up                     : {keras_s / ours_s:8.1f}x  (target >= 20x)")
    print(f"the upload alone (refused)   : {upload_s * 1e3:8.1f} ms")
    print(f"speed-up the upload allows   : {keras_s / upload_s:8.1f}x  (at most)")
    print(f"breakdown / the upload alone : {ours_s / upload_s:8.1f}x  (target <= 2x)")


def timed(request):
    """(wall seconds, answer) of one request."""
    start = time.perf_counter()
    answer = request()
    return time.perf_counter() - start, answer


def settle(base: str, response: httpx2.Response) -> None:
    """Until the report's program is written (or not): check=false writes it after the
    answer, in another reading process (app.export.unchecked)."""
    assert response.status_code == 201, response.text
    forward = f"{base}/api/v1/reports/{response.json()['id']}/forward"
    while True:
        with httpx2.stream("GET", forward, timeout=600) as answer:
            if answer.status_code != 409 or b"export-not-ready" not in answer.read():
                return
        time.sleep(SETTLE_POLL_S)


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
