"""What the writer matrix found that the product does not do yet, by cause.

Each entry marks the matching tests `xfail(strict=True)`: they are not coverage, and the
day a cause is fixed its tests pass, strict xfail turns that into a failure, and the entry
must go. Matched with fnmatch on the test (`report`: totals and get_weights(); `reference`:
our forward against the writer's output), the writer folder and the file name.
"""

from __future__ import annotations

from fnmatch import fnmatch

KERAS_2 = "tf*keras-2.*"
KNOWN: list[tuple[str, str, str, str]] = [
    # (test, writer, file, cause)
    *(
        (
            "reference",
            KERAS_2,
            f"{model}.*",
            "hard_sigmoid (ConvLSTM's Keras 2 default): the "
            "test compares with the writer's Keras 2 formula, the reference computes Keras 3's",
        )
        for model in ("convlstm", "volume")
    ),
    (
        "reference",
        KERAS_2,
        "preprocessing.*",
        "RandomCrop crops at inference in this writer; Keras 3.8+ (and our reference) does not",
    ),
    (
        "reference",
        "keras-3.[0-7].*",
        "preprocessing.*",
        "RandomCrop crops at inference in this writer; Keras 3.8+ (and our reference) does not",
    ),
    *(
        (
            test,
            "keras-3.[012].*",
            "nested_shared.h5",
            "a nested Sequential called twice, in a Keras 3.0-3.2 .h5: its weights are not found",
        )
        for test in ("report", "reference")
    ),
    (
        "reference",
        "keras-3.2.1",
        "nested_shared.*",
        "a nested Sequential called twice (Keras 3.2): the reference runs the wrong call",
    ),
]


def known_cause(test: str, writer: str, name: str) -> str | None:
    for pattern_test, pattern_writer, pattern_name, cause in KNOWN:
        if test == pattern_test and fnmatch(writer, pattern_writer) and fnmatch(name, pattern_name):
            return cause
    return None
