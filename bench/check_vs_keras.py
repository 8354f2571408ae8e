"""A full check through the API against Keras doing the same work in a warm process.

    .venv/bin/python bench/check_vs_keras.py [--model MobileNetV2] [--repeats 3]
    .venv/bin/python bench/check_vs_keras.py --model ResNet50

Ours: POST the `.keras` file with wait=true to a real server with one warm worker; the time
until the answer (upload, breakdown, our forward in its process, Keras in a warm worker:
load, one call over every layer's output, the comparison). Keras': in this process, warm,
`load_model` + a model over every layer's output + `predict`, on the same inputs. Targets
(issue 12): ours at most 1.0x for MobileNetV2, 1.5x for ResNet50 at 224.

Also printed, for what a single-use worker can reach: the same Keras work done once, as the
first model in a fresh process warmed up the way our workers are (TensorFlow imported, a
tiny model predicted). TensorFlow keeps kernels per op and shape, so a process that has
run this very model before is faster again; a worker never has.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _server import (  # noqa: E402
    add_settings_argument,
    post_file,
    server_settings,
    serving,
    wait_healthy,
)


def keras_side(path: Path, x: np.ndarray) -> None:
    model = keras.saving.load_model(path, compile=False)
    probe = keras.Model(model.inputs, [layer.output for layer in model.layers[1:]])
    probe.predict(x, batch_size=len(x), verbose=0)


def timed_keras_side(path: Path, x: np.ndarray, repeats: int) -> tuple[float, float]:
    """The best wall time of `keras_side` in this process, and the CPU time of that run
    (every thread of this process: TensorFlow's pools too)."""
    runs = []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        keras_side(path, x)
        runs.append((time.perf_counter() - start, time.process_time() - cpu))
    return min(runs)


def first_in_fresh_process(path: Path, x_path: Path) -> float:
    """Seconds of `keras_side` as the first model of a new process warmed like a worker."""
    out = subprocess.run(
        [sys.executable, __file__, "--first-load", str(path), str(x_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(out.strip().splitlines()[-1])


def _first_load(path: Path, x_path: Path) -> None:
    from app.check.keras.worker import warm_up

    x = np.load(x_path)
    warm_up(keras)
    start = time.perf_counter()
    keras_side(path, x)
    print(time.perf_counter() - start)


def timed_check(base: str, path: Path) -> float:
    """One full check through the API, once every worker is warm (not timed: waiting)."""
    wait_healthy(base, 1)
    start = time.perf_counter()
    report = post_file(base, path, wait="true").json()
    elapsed = time.perf_counter() - start
    assert report["check"]["status"] == "passed", report["check"]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="MobileNetV2")
    parser.add_argument("--repeats", type=int, default=3)
    add_settings_argument(parser)
    parser.add_argument("--first-load", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first_load:
        return _first_load(*args.first_load)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{args.model}.keras"
        getattr(keras.applications, args.model)(weights=None).save(path)
        x = np.random.default_rng(0).normal(size=(2, 224, 224, 3)).astype("float32")
        np.save(x_path := Path(folder) / "x.npy", x)
        first_s = min(first_in_fresh_process(path, x_path) for _ in range(args.repeats))
        keras_side(path, x)  # warm-up
        keras_s, keras_cpu_s = timed_keras_side(path, x, args.repeats)
        settings = server_settings(args)
        with serving(workers=1, **settings) as (base, _):
            timed_check(base, path)  # warm-up
            ours_s = min(timed_check(base, path) for _ in range(args.repeats))
    print(f"model                              : {args.model}, batch 2, 224x224")
    print(f"keras load + every layer's predict : {keras_s * 1e3:8.0f} ms (warm process)")
    print(f"  its CPU time                     : {keras_cpu_s * 1e3:8.0f} ms")
    print(f"explainer full check via the API   : {ours_s * 1e3:8.0f} ms")
    print(f"ratio                              : {ours_s / keras_s:8.2f}x")
    print(f"the same Keras work, first model   : {first_s * 1e3:8.0f} ms (fresh warmed process)")
    print(f"ratio to that                      : {ours_s / first_s:8.2f}x")
    print(f"server settings                    : {args.set or 'defaults'}")
    print(f"load average                       : {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
