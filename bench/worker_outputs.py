"""What the Keras worker does with `predict`'s outputs before writing them, old and new.

    .venv/bin/python bench/worker_outputs.py [--model MobileNetV2] [--repeats 5]

One `predict` over every layer's output (as the worker's probe model), at batch 2 on seeded
inputs; then, side by side, the outputs made NumPy arrays as the worker did before issue 12
(`np.asarray(keras.ops.convert_to_numpy(o))`, which copies each array: `np.array`) and as it
does now (`app.check.keras.running.as_numpy`: a NumPy array is taken as it is). Printed: the
time of each (best of `--repeats`) and the memory each allocates at its peak (tracemalloc,
which NumPy reports to), against the outputs' own size.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from app.check.keras.running import as_numpy  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="MobileNetV2")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    model = getattr(keras.applications, args.model)(weights=None)
    probe = keras.Model(model.inputs, [layer.output for layer in model.layers[1:]])
    x = np.random.default_rng(0).standard_normal((2, *model.input_shape[1:]), np.float32)
    outputs = probe.predict(x, batch_size=2, verbose=0)
    size_mb = sum(o.nbytes for o in outputs) / 1e6
    before = measure(lambda: [np.asarray(keras.ops.convert_to_numpy(o)) for o in outputs], args)
    after = measure(lambda: [as_numpy(keras, o) for o in outputs], args)
    print(f"{args.model}: {len(outputs)} outputs, {size_mb:.1f} MB at batch 2")
    print(f"before (convert_to_numpy): {before[0] * 1e3:7.1f} ms, {before[1]:7.1f} MB allocated")
    print(f"after  (as_numpy)        : {after[0] * 1e3:7.1f} ms, {after[1]:7.1f} MB allocated")


def measure(convert, args: argparse.Namespace) -> tuple[float, float]:
    """(best seconds, peak MB allocated) of one conversion of every output."""
    best = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        convert()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    kept = convert()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del kept
    return best, peak / 1e6


if __name__ == "__main__":
    main()
