"""The real files of ../shared/corpus/wild/, with what their MANIFEST.md says of each.

Each folder (`keras2/`, `keras3/`) has a MANIFEST.md whose first table lists every model: the
writer recorded in the file, whether Keras 3.15.1 (and, in `keras2/`, tf_keras 2.21) load it,
and the writer's own counts. Beside a model lie a seeded input and the output Keras gave
(`NAME.input.npy` / `NAME.output.npy`, `.npz` for several), or tf_keras's
(`NAME.tf_keras.input.npy` ...) where Keras 3 refuses the file. Those numbers come from Keras,
never from this project, so the tests hold our reading against them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.conftest import CORPUS

WILD = CORPUS / "wild"
_COUNTS = re.compile(r"^\s*([\d,]+)\s*\(([\d,]+)\)")
_TOTAL_ONLY = re.compile(r"^\s*([\d,]+)\s*\(from ")


@dataclass(frozen=True)
class WildModel:
    """One row of a MANIFEST table."""

    folder: str
    file: str
    writer: str
    keras3_loads: bool
    tf_keras_loads: bool
    total: int | None  # count_params(), or the element count of the stored weights
    non_trainable: int | None  # None where the writer's split is not recorded

    @property
    def path(self) -> Path:
        return WILD / self.folder / self.file

    @property
    def stem(self) -> str:
        return self.file.rsplit(".", 1)[0]

    def __str__(self) -> str:  # pytest ids
        return f"{self.folder}/{self.file}"

    def stored(self, kind: str, flavour: str = "") -> dict[str, np.ndarray] | np.ndarray | None:
        """The stored `input` or `output` beside the file: an array (`.npy`), a dict of
        arrays keyed as the MANIFEST says (`.npz`), or None. `flavour="tf_keras"` reads the
        tf_keras run's files."""
        base = WILD / self.folder / ".".join(p for p in (self.stem, flavour, kind) if p)
        if base.with_name(base.name + ".npy").exists():
            return np.load(base.with_name(base.name + ".npy"), allow_pickle=False)
        if base.with_name(base.name + ".npz").exists():
            with np.load(base.with_name(base.name + ".npz"), allow_pickle=False) as npz:
                return {key: npz[key] for key in npz.files}
        return None


def manifest(folder: str) -> list[WildModel]:
    """Every model row of `wild/<folder>/MANIFEST.md`'s first table."""
    rows = _first_table((WILD / folder / "MANIFEST.md").read_text())
    return [_model(folder, row) for row in rows]


def _first_table(text: str) -> list[dict[str, str]]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| # |"))
    header = _cells(lines[start])
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(header, _cells(line), strict=True)))
    return rows


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split(" | ")]


def _model(folder: str, row: dict[str, str]) -> WildModel:
    params = next(value for key, value in row.items() if key.startswith("Params"))
    total, non_trainable = _counts(params)
    return WildModel(
        folder=folder,
        file=row["File"].strip("`"),
        writer=next(value for key, value in row.items() if key.startswith("Writer")),
        keras3_loads=row["Keras 3.15.1 load"].startswith("OK"),
        tf_keras_loads=row.get("tf_keras 2.21", "").startswith("OK"),
        total=total,
        non_trainable=non_trainable,
    )


def _counts(cell: str) -> tuple[int | None, int | None]:
    if match := _COUNTS.match(cell):
        return _number(match[1]), _number(match[2])
    if match := _TOTAL_ONLY.match(cell):
        return _number(match[1]), None
    return None, None  # "see weights file": the spec's counts are on its weights' row


def _number(text: str) -> int:
    return int(text.replace(",", ""))
