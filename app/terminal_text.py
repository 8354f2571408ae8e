"""`keras-explainer inspect`'s tables of a model file, made where the file is read.

Without --json, --check, --yours or --weights, `inspect` prints text only. Its report is made as the
API's (app.explain: the same reading, the same `build_report`, brief unless the code is
asked for) in the reading process (app.isolation: the throwaway process every HDF5 file is
read in, with its limits), and rendered there (app.terminal). Only the text crosses to the
command, which prints it with its control characters replaced: the report is not sent as
JSON, validated and stored, as a report the API keeps is (app.reports), and the command
imports no store and no check machinery. The text is the API report's rendering, byte for
byte (tests/test_cli.py): its check, not asked for, is the API's `not_asked()`.

A spec file holds no HDF5: it is read here, as the API reads one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app import isolation
from app.check.codes import not_asked
from app.errors import UnreadableFile
from app.explain import explaining
from app.safety.limits import ReadLimits
from app.safety.sniff import sniff_path
from app.terminal import render

NOT_HASHED = ""  # the report's source.sha256: the tables print no digest (ResNet50: 77 ms)
# What a terminal is told to do rather than shown: C0 controls but the line feed, DEL, C1.
# One pattern, not `str.translate`: a table's lookup per character took 9 ms for ResNet50's
# 160 kB of text (not all ASCII, so off translate's fast path), the pattern's scan 0.4 ms.
CONTROLS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def terminal_text(
    path: Path,
    limits: ReadLimits,
    unknown_dims: Mapping[str, int] | None = None,
    code: bool = False,
) -> str:
    """The terminal report of the model file at `path`; `code` adds the reference's code."""
    sizes = dict(unknown_dims or {})
    if not limits.isolate_hdf5 or sniff_path(path) == "spec_json":
        return printable(rendered(path, limits, sizes, code))
    answer = isolation.run_task(text_task, path, limits, unknown_dims=sizes, code=code)
    text = answer.get("text") if isinstance(answer, dict) else None
    if not isinstance(text, str):  # only a process a hostile file took over sends that
        raise UnreadableFile(isolation.INCOMPLETE)
    return printable(text)


@isolation.task
def text_task(
    path: Path, limits: ReadLimits, early: isolation.Early, unknown_dims: dict, code: bool
) -> dict[str, Any]:
    """The terminal report, in the reading process."""
    return {"text": rendered(path, limits, unknown_dims, code)}


def rendered(path: Path, limits: ReadLimits, unknown_dims: Mapping[str, int], code: bool) -> str:
    """Read and explain the file in this process, and render its report."""
    digest = (NOT_HASHED, path.stat().st_size)
    options = {"unknown_dims": unknown_dims, "with_read": False, "brief": not code}
    with explaining(path, path.name, digest, limits, **options) as explained:
        report = explained.report().model_copy(update={"check": not_asked()})
    return render(report, code=code)


def printable(text: str) -> str:
    """`text` with the characters a terminal would act on replaced by `?` (a layer name is
    the file's to choose)."""
    return CONTROLS.sub("?", text)
