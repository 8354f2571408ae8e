"""What some writers computed that Keras 3.15 (and the product's reference) computes otherwise,
written by hand here from the writers' own sources, so the matrix can hold the reference to
the writer's outputs once the report has said so (app/analysis/writer_semantics.py).

- hard_sigmoid, Keras 2 (tf.keras / tf_keras backend): clip(0.2 · x + 0.5, 0, 1).
- RandomCrop at inference. Keras 2 and Keras 3.0-3.5 (`resize()` in its `call`):
  `smart_resize` to height × width: the largest centred window with the target's
  proportions, resized bilinearly (half-pixel centres, no antialiasing). Keras 3.6-3.7
  (`get_random_transformation` with training=False, then `transform_images`, which crops
  whatever `training` says): the window of height × width whose corner is that centred
  window's corner. Keras 3.8 and later: the input unchanged.
- Keras 3.2 wrote every reference to a layer's output as node 0; the battery's
  `nested_shared` (write_battery.py) reads the second calls of `shared_dense` and
  `inner_sequential` where its references say the first.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from app.graph import ModelGraph, TensorRef

KERAS_2 = re.compile(r"^tf_?\.?keras-2\.")
HARD_SIGMOID = "hard_sigmoid"


def keras_version(writer: str) -> tuple[int, int]:
    """The writer's (major, minor), from its folder name (`keras-3.6.0`, `tf_keras-2.18`)."""
    major, minor = writer.split("-", 1)[1].split(".")[:2]
    return int(major), int(minor)


def keras2_hard_sigmoid(x: np.ndarray) -> np.ndarray:
    """Keras 2's formula (keras 2.x backend): clip(0.2 · x + 0.5, 0, 1)."""
    return np.clip(x * np.float32(0.2) + np.float32(0.5), 0, 1).astype(x.dtype)


def hard_sigmoid_layers(spec: Path) -> list[str]:
    """The layers of a writer's `to_json()` whose config (or that of a layer it wraps) names
    hard_sigmoid, by path (`bidirectional/forward_lstm`)."""
    found: list[str] = []

    def visit(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item, path)
        if not isinstance(node, dict):
            return
        config = node.get("config")
        if isinstance(node.get("class_name"), str) and isinstance(config, dict):
            here = (*path, str(config.get("name")))
            if node["class_name"] in ("Sequential", "Functional", "Model"):
                visit(config.get("layers"), here)
                return
            if HARD_SIGMOID in (config.get("activation"), config.get("recurrent_activation")):
                found.append("/".join(here))
            for value in config.values():
                visit(value, here)
            return
        for value in node.values():
            visit(value, path)

    top = json.loads(spec.read_text())
    visit(top["config"].get("layers"), ())
    return found


def crop_at_inference(version: tuple[int, int]):
    """The writer's RandomCrop forward at inference (channels_last, batched), or None."""
    if version >= (3, 8):
        return None

    def forward(config: dict, weights: Any, inputs: list[np.ndarray], training: bool):
        x = inputs[0]
        height, width = config["height"], config["width"]
        rows, cols = x.shape[1], x.shape[2]
        window_rows = max(min(rows, int(cols * height / width)), 1)
        window_cols = max(min(cols, int(rows * width / height)), 1)
        top, left = (rows - window_rows) // 2, (cols - window_cols) // 2
        if version >= (3, 6):
            return x[:, top : top + height, left : left + width, :]
        window = x[:, top : top + window_rows, left : left + window_cols, :]
        return bilinear(window, height, width).astype(x.dtype)

    return forward


def bilinear(x: np.ndarray, height: int, width: int) -> np.ndarray:
    """TensorFlow's bilinear resize (half-pixel centres, no antialiasing) of NHWC `x`."""

    def taps(out: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        source = np.clip((np.arange(out) + 0.5) * size / out - 0.5, 0, size - 1)
        low = np.floor(source).astype(int)
        high = np.minimum(low + 1, size - 1)
        return low, high, (source - low)

    r0, r1, fr = taps(height, x.shape[1])
    c0, c1, fc = taps(width, x.shape[2])
    fc = fc[None, None, :, None]
    top = x[:, r0][:, :, c0] * (1 - fc) + x[:, r0][:, :, c1] * fc
    bottom = x[:, r1][:, :, c0] * (1 - fc) + x[:, r1][:, :, c1] * fc
    fr = fr[None, :, None, None]
    return top * (1 - fr) + bottom * fr


def repoint_keras_3_2_calls(graph: ModelGraph) -> None:
    """The battery's `nested_shared` as its writer built it: the second calls of
    `shared_dense` and `inner_sequential` are read where Keras 3.2 wrote node 0."""
    graph.layer("inner_sequential").calls[1] = [TensorRef("shared_dense", 1)]
    for merge, layer in (("add_1", "inner_sequential"), ("concatenate_1", "shared_dense")):
        graph.layer(merge).calls[0] = [TensorRef(layer, 0), TensorRef(layer, 1)]
