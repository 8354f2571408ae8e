"""Model files of other frameworks, named for what they are (415 `unsupported-format`).

People upload what they have: a PyTorch checkpoint saved as `model.h5`, an ONNX or TFLite
export, a zipped SavedModel. They are not Keras models, and the sentence says which of these
it is, from the bytes (never the name):

    PyTorch      a zip whose `data.pkl` sits at the top or one folder down (`archive/data.pkl`,
                 torch.save since 1.6), or a bare pickle (`\\x80` + protocol; torch.save before)
    SavedModel   a zip holding `saved_model.pb` (or `.pbtxt`) anywhere
    TFLite       a FlatBuffer whose file identifier (bytes 4-8) is `TFL3`
    ONNX         a protobuf `ModelProto`: field 1 `ir_version` (tag 0x08, a small varint),
                 then producer_name, producer_version, domain, graph or opset_import
"""

from __future__ import annotations

from collections.abc import Iterable

from app.errors import UnsupportedFormat

PICKLE_PROTOCOLS = range(2, 6)
TFLITE_IDENTIFIER = b"TFL3"
ONNX_IR_VERSIONS = range(1, 16)
ONNX_NEXT_TAGS = frozenset({0x12, 0x1A, 0x22, 0x3A, 0x42})  # fields 2, 3, 4, 7, 8
SAVED_MODEL_FILES = frozenset({"saved_model.pb", "saved_model.pbtxt"})
KERAS_ONLY = (
    "The explainer reads Keras models only; load it in its framework, or export it from "
    "Keras (model.save('model.keras'))."
)


def framework_of_bytes(head: bytes) -> str | None:
    """The framework whose file starts with `head`, when it is one of those above."""
    if len(head) >= 2 and head[0] == 0x80 and head[1] in PICKLE_PROTOCOLS:
        return "a PyTorch file (a Python pickle, as torch.save wrote before PyTorch 1.6)"
    if head[4:8] == TFLITE_IDENTIFIER:
        return "a TensorFlow Lite model (.tflite)"
    if len(head) >= 3 and head[0] == 0x08 and head[1] in ONNX_IR_VERSIONS:
        if head[2] in ONNX_NEXT_TAGS:
            return "an ONNX model (.onnx)"
    return None


def framework_of_members(names: Iterable[str]) -> str | None:
    """The framework whose zip archive holds these member names, when it is one above."""
    for name in names:
        parts = name.split("/")
        if parts[-1] == "data.pkl" and len(parts) <= 2:
            return "a PyTorch file (torch.save's zip archive, with data.pkl)"
        if parts[-1] in SAVED_MODEL_FILES:
            return "a TensorFlow SavedModel (saved_model.pb), zipped"
    return None


def refuse(framework: str) -> UnsupportedFormat:
    return UnsupportedFormat(
        f"This file is {framework}, not a Keras model. {KERAS_ONLY}",
        details={"framework": framework},
    )
