"""What a file's writer computed that Keras 3.15 (and this check) computes otherwise.

The one place for the differences between Keras versions that change a model's numbers but
not its config. Each rule names the layers it touches, what the Keras that wrote the file
computed (its version is recorded in the file: `keras_version` of a legacy HDF5 file or of a
Keras 2 spec, `metadata.json` of a `.keras` archive) and what Keras 3.15 computes; the report
lists the sentences in `warnings`. The reference forward computes what Keras 3.15 computes,
so that the check compares like with like:

- `hard_sigmoid` (Keras 1 and 2: clip(0.2 · x + 0.5, 0, 1); Keras 3: clip(x / 6 + 0.5, 0, 1)),
  ConvLSTM's and Keras 2 LSTM/GRU's default `recurrent_activation`;
- BatchNormalization `mode=2` (Keras 1): batch statistics at inference too;
- RandomCrop at inference: Keras 2 and 3.0-3.5 resized the largest centred window of the
  target's proportions to height × width (`smart_resize`), Keras 3.6-3.7 cut height × width
  from that window's top-left corner, Keras 3.8 and later return the input unchanged
  (keras-team/keras#21868: the transform runs only in training);
- a layer's later calls that no reference reads: Keras 3.2 wrote every reference to a
  layer's output as its first call (`keras_history` node 0), so a shared layer's later
  outputs are lost from the file, for every Keras that loads it.
"""

from __future__ import annotations

import re

from app.graph import LayerNode, ModelGraph

# Activations whose formula changed between Keras 2 and Keras 3 (keras/src/activations).
CHANGED_ACTIVATIONS = {
    "hard_sigmoid": "clip(0.2 · x + 0.5, 0, 1) in Keras 2, clip(x / 6 + 0.5, 0, 1) in Keras 3",
}
ACTIVATION_KEYS = ("activation", "recurrent_activation")
VERSION = re.compile(r"^(\d+)\.(\d+)")

CROP_KERAS_2 = (
    "resized the largest centred window with the target's proportions to height × width "
    "(bilinear: Keras' smart_resize)"
)
CROP_KERAS_3_6 = (
    "cut height × width from the top-left corner of the largest centred window with the "
    "target's proportions (rows ⌊(H − min(H, ⌊W · height / width⌋)) / 2⌋ on, columns "
    "likewise; resized to height × width when the input is smaller)"
)
CROP_KERAS_3_8 = (
    "Keras 3.8 and later (3.15 here), and this check, return the input unchanged at "
    "inference (the transform runs only in training, although the layer's output shape "
    "says height × width: keras-team/keras#21868)"
)


def writer_semantics(graph: ModelGraph, keras_version: str | None) -> list[str]:
    """The report's sentences for what this file's writer computed otherwise."""
    version = _version(keras_version)
    return [
        *_changed_activations(graph, keras_version, version),
        *_batch_statistics(graph, version),
        *_random_crops(graph, keras_version, version),
        *_unread_calls(graph, version),
    ]


def _version(keras_version: str | None) -> tuple[int, int] | None:
    match = VERSION.match(keras_version or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def _path(parents: tuple[str, ...], node: LayerNode) -> str:
    return "/".join((*parents, node.name))


def _changed_activations(
    graph: ModelGraph, keras_version: str | None, version: tuple[int, int] | None
) -> list[str]:
    """For a file written by Keras 1 or 2: the layers whose activation Keras 3 computes with
    another formula, so Keras 3's predict (and the check) differ from what its writer had."""
    if version is None or version[0] > 2:
        return []
    found: dict[str, list[str]] = {}
    for parents, node in graph.walk():
        for where, key, name in activations(node.config, (*parents, node.name)):
            if name in CHANGED_ACTIVATIONS:
                found.setdefault(name, []).append(f"{'/'.join(where)} ({key})")
    return [
        f"{name} means {CHANGED_ACTIVATIONS[name]}. This file was written by Keras "
        f"{keras_version}: Keras 3, and this check, compute {', '.join(where)} differently "
        "from what its writer computed; a port should use the Keras 2 formula."
        for name, where in found.items()
    ]


def activations(config: dict, where: tuple[str, ...]):
    """(path, key, activation) of a layer's config and of the layers a wrapper holds in it
    (Bidirectional's `layer` and `backward_layer`, TimeDistributed's `layer`, an RNN's
    `cell`), so a wrapped layer is warned of as at top level."""
    for key in ACTIVATION_KEYS:
        if isinstance(config.get(key), str):
            yield where, key, config[key]
    for value in config.values():
        inner = value.get("config") if isinstance(value, dict) else None
        if isinstance(inner, dict) and isinstance(value.get("class_name"), str):
            yield from activations(inner, (*where, str(inner.get("name", value["class_name"]))))


def _batch_statistics(graph: ModelGraph, version: tuple[int, int] | None) -> list[str]:
    if version is None or version[0] > 2:
        return []
    layers = [
        _path(parents, node)
        for parents, node in graph.walk()
        if node.class_name == "BatchNormalization" and node.config.get("mode") == 2
    ]
    if not layers:
        return []
    return [
        f"BatchNormalization mode=2 (Keras 1): {', '.join(layers)} normalized with the "
        "statistics of each batch, at inference too, and never updated its moving "
        "statistics. Keras 2 and 3, and this check, use the moving statistics at "
        "inference: they do not compute what the writer computed."
    ]


def _random_crops(
    graph: ModelGraph, keras_version: str | None, version: tuple[int, int] | None
) -> list[str]:
    layers = [_path(p, node) for p, node in graph.walk() if node.class_name == "RandomCrop"]
    if not layers:
        return []
    named = f"RandomCrop {', '.join(layers)}"
    if version is None:
        return [
            f"{named}: what it computes at inference depends on the Keras that wrote the "
            f"file, which the file does not record. Keras 2 and Keras 3.0-3.5 {CROP_KERAS_2}; "
            f"Keras 3.6-3.7 {CROP_KERAS_3_6}; {CROP_KERAS_3_8}."
        ]
    if version >= (3, 8):
        return []
    what = CROP_KERAS_3_6 if version >= (3, 6) else CROP_KERAS_2
    return [
        f"{named}: this file was written by Keras {keras_version}, which at inference "
        f"{what}. {CROP_KERAS_3_8[0].upper()}{CROP_KERAS_3_8[1:]}: they do not compute what "
        "the writer computed."
    ]


def _unread_calls(graph: ModelGraph, version: tuple[int, int] | None) -> list[str]:
    unread = [
        f"{_path(parents, node)} (call{'s' if len(calls) > 1 else ''} "
        f"{', '.join(str(c + 1) for c in calls)} of "
        f"{len(node.calls)})"
        for parents, node, calls in _calls_nobody_reads(graph, ())
    ]
    if not unread:
        return []
    why = (
        "Keras 3.2, which wrote this file, recorded every reference to a layer's output as "
        "its first call"
        if version is not None and version[:2] == (3, 2)
        else "The file's references never name them"
    )
    return [
        f"Layers called more than once whose later calls no layer reads: {', '.join(unread)}. "
        f"{why}: where the writer's model used a later call's output, Keras loading this "
        "file (any version, 3.15 here) and this check use the first call's, so they do not "
        "compute what the writer's model computed."
    ]


def _calls_nobody_reads(graph: ModelGraph, parents: tuple[str, ...]):
    """(parents, layer, [call index]) for each layer of `graph` (nested models' included)
    with calls after its first whose outputs no call and no model output reads."""
    refs = [*graph.outputs]
    for node in graph.layers:
        for tensors in (*node.calls, *node.call_extras):
            refs += tensors
    read = {(ref.layer, ref.node_index) for ref in refs}
    for node in graph.layers:
        calls = [c for c in range(1, len(node.calls)) if (node.name, c) not in read]
        if calls:
            yield parents, node, calls
        if node.inner is not None:
            yield from _calls_nobody_reads(node.inner, (*parents, node.name))
