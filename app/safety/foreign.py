"""Model files of other frameworks, named for what they are (415 `unsupported-format`).

People upload what they have: a PyTorch checkpoint saved as `model.h5`, an ONNX or TFLite
export, a zipped SavedModel. They are not Keras models, and the sentence says which of these
it is, from the bytes (never the name):

    PyTorch      a zip whose `data.pkl` sits at the top or one folder down (`archive/data.pkl`,
                 torch.save since 1.6), or a bare pickle (`\\x80` + protocol; torch.save before)
    SavedModel   a zip holding `saved_model.pb` (or `.pbtxt`) anywhere; or `saved_model.pb`
                 itself, a protobuf `SavedModel`: field 1 `saved_model_schema_version` = 1
                 (08 01), then field 2, a `MetaGraphDef` (tag 0x12, its length, then its own
                 first field, `meta_info_def`: tag 0x0A)
    TFLite       a FlatBuffer whose file identifier (bytes 4-8) is `TFL3`
    ONNX         a protobuf `ModelProto`: field 1 `ir_version` (tag 0x08, a small varint),
                 then producer_name, producer_version, domain, graph or opset_import

Both protobufs open with 08 then a small number then 0x12: a SavedModel's field 2 holds a
message (it starts 0x0A), an ONNX model's field 2 is `producer_name`, text ("pytorch",
"tf2onnx"), so the first byte inside field 2 tells them apart.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.errors import UnsupportedFormat

PICKLE_PROTOCOLS = range(2, 6)
TFLITE_IDENTIFIER = b"TFL3"
ONNX_IR_VERSIONS = range(1, 16)
ONNX_NEXT_TAGS = frozenset({0x12, 0x1A, 0x22, 0x3A, 0x42})  # fields 2, 3, 4, 7, 8
SAVED_MODEL_HEAD = b"\x08\x01\x12"  # schema version 1, then field 2 (a MetaGraphDef)
MESSAGE_FIELD_1 = 0x0A  # field 1, length-delimited: MetaGraphDef's meta_info_def
VARINT_MAX_BYTES = 10
SAVED_MODEL_FILES = frozenset({"saved_model.pb", "saved_model.pbtxt"})
SAVED_MODEL_PB = "a TensorFlow SavedModel's saved_model.pb"
SAVED_MODEL_ZIP = "a TensorFlow SavedModel (saved_model.pb), zipped"
KERAS_ONLY = (
    "The explainer reads Keras models only; load it in its framework, or export it from "
    "Keras (model.save('model.keras'))."
)
# tf.keras 2.x saved to a folder (`model.save("my_model")`, the default before TF 2.13) as a
# SavedModel with keras_metadata.pb beside saved_model.pb: tf_keras loads it again (Keras 3
# cannot), and can save what the explainer reads.
FROM_SAVED_MODEL = (
    "If tf.keras wrote it (model.save('folder'), with keras_metadata.pb beside "
    "saved_model.pb), tf_keras loads the folder: "
    "tf_keras.models.load_model('folder').save('model.h5') gives a file the explainer reads."
)


def framework_of_bytes(head: bytes) -> str | None:
    """The framework whose file starts with `head`, when it is one of those above."""
    if len(head) >= 2 and head[0] == 0x80 and head[1] in PICKLE_PROTOCOLS:
        return "a PyTorch file (a Python pickle, as torch.save wrote before PyTorch 1.6)"
    if head[4:8] == TFLITE_IDENTIFIER:
        return "a TensorFlow Lite model (.tflite)"
    if _is_saved_model_proto(head):
        return SAVED_MODEL_PB
    if len(head) >= 3 and head[0] == 0x08 and head[1] in ONNX_IR_VERSIONS:
        if head[2] in ONNX_NEXT_TAGS:
            return "an ONNX model (.onnx)"
    return None


def _is_saved_model_proto(head: bytes) -> bool:
    """Whether `head` opens a `SavedModel` protobuf: version 1, then a MetaGraphDef whose
    first byte is a message field's tag (an ONNX producer_name would be text)."""
    if not head.startswith(SAVED_MODEL_HEAD):
        return False
    start = _after_varint(head, len(SAVED_MODEL_HEAD))
    return start is not None and head[start : start + 1] == bytes([MESSAGE_FIELD_1])


def _after_varint(data: bytes, at: int) -> int | None:
    """The offset just past the protobuf varint at `at`, or None when it does not end there."""
    for offset in range(at, min(at + VARINT_MAX_BYTES, len(data))):
        if not data[offset] & 0x80:
            return offset + 1
    return None


def framework_of_members(names: Iterable[str]) -> str | None:
    """The framework whose zip archive holds these member names, when it is one above."""
    for name in names:
        parts = name.split("/")
        if parts[-1] == "data.pkl" and len(parts) <= 2:
            return "a PyTorch file (torch.save's zip archive, with data.pkl)"
        if parts[-1] in SAVED_MODEL_FILES:
            return SAVED_MODEL_ZIP
    return None


def refuse(framework: str) -> UnsupportedFormat:
    saved_model = framework in (SAVED_MODEL_PB, SAVED_MODEL_ZIP)
    what_to_do = f"{KERAS_ONLY} {FROM_SAVED_MODEL}" if saved_model else KERAS_ONLY
    return UnsupportedFormat(
        f"This file is {framework}, not a Keras model. {what_to_do}",
        details={"framework": framework},
    )
