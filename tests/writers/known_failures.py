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
    # (test, writer, file, cause): none known today
]


def known_cause(test: str, writer: str, name: str) -> str | None:
    for pattern_test, pattern_writer, pattern_name, cause in KNOWN:
        if test == pattern_test and fnmatch(writer, pattern_writer) and fnmatch(name, pattern_name):
            return cause
    return None
