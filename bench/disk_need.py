"""The disk each keras.applications model's check needs at once, at the seeded batch of 2
(app.check.disk), beside what both sides wrote before layers were taken as they arrived
(every layer output, twice), from the figures our reader measures.

    .venv/bin/python bench/disk_need.py [ResNet50 VGG16 ...]

Each architecture is built with weights=None at its default input size (MobileNetV3 at the
224 × 224 Keras documents), read from its spec (`to_json`), resolved and measured: no check
runs. Prints one line per model and the largest need, to set KEX_CHECK_MAX_DISK_BYTES by.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from app.analysis.resolve import resolve  # noqa: E402
from app.check.budgets import measure  # noqa: E402
from app.check.disk import disk_need  # noqa: E402
from app.check.inputs import BATCH_SIZE  # noqa: E402
from app.formats import read_spec  # noqa: E402

MB = 1e6


def figures_of(name: str):
    build = getattr(keras.applications, name)
    model = build(weights=None)
    if None in model.input_shape[1:]:
        model = build(weights=None, input_shape=(224, 224, 3))
    spec = model.to_json()
    del model
    keras.backend.clear_session()
    graph = read_spec(spec).graph
    resolve(graph, weights_in_file=False)
    return measure(graph)


def main() -> None:
    names = sys.argv[1:] or sorted(n for n in dir(keras.applications) if n[:1].isupper())
    print(f"{'model':<20} {'need MB':>9} {'all outputs x2 MB':>18} {'weights MB':>11}")
    largest = ("", 0)
    for name in names:
        figures = figures_of(name)
        need = disk_need(figures, BATCH_SIZE)
        before = 2 * figures.activation_bytes * BATCH_SIZE
        print(
            f"{name:<20} {need.total / MB:>9.0f} {before / MB:>18.0f} "
            f"{figures.weight_bytes / MB:>11.0f}",
            flush=True,
        )
        largest = max(largest, (name, need.total), key=lambda pair: pair[1])
    print(f"largest need: {largest[0]} {largest[1]:,} bytes")


if __name__ == "__main__":
    main()
