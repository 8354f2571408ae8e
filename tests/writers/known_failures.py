"""What the writer matrix found that the product does not do yet, by cause.

Each entry marks the matching tests `xfail(strict=True)`: they are not coverage, and the
day a cause is fixed its tests pass, strict xfail turns that into a failure, and the entry
must go. Matched with fnmatch on the test (`report`: totals and get_weights(); `reference`:
our forward against the writer's output), the writer folder and the file name.
"""

from __future__ import annotations

from fnmatch import fnmatch

KERAS_2 = "tf*keras-2.*"
LAYOUT_2_12 = "tf.keras-2.1[23]"
KNOWN: list[tuple[str, str, str, str]] = [
    # (test, writer, file, cause)
    *(
        (
            test,
            LAYOUT_2_12,
            f"{model}.keras",
            "tf.keras 2.12-2.13 .keras: weights under "
            "_layer_checkpoint_dependencies/<layer>/vars are not read",
        )
        for test in ("report", "reference")
        for model in ("core", "image", "normalization", "wrappers", "nested_shared")
    ),
    *(
        (
            test,
            KERAS_2,
            "sequence.keras",
            "tf.keras .keras: MultiHeadAttention's key/kernel "
            "stored (2, 2, 4) where the config makes (4, 2, 2)",
        )
        for test in ("report", "reference")
    ),
]


def known_cause(test: str, writer: str, name: str) -> str | None:
    for pattern_test, pattern_writer, pattern_name, cause in KNOWN:
        if test == pattern_test and fnmatch(writer, pattern_writer) and fnmatch(name, pattern_name):
            return cause
    return None
