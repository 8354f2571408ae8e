"""The disk a check needs, worked out from the model's figures before it starts, and the
refusals when the disk budget (KEX_CHECK_MAX_DISK_BYTES) or the free space cannot take it.

Both sides write each layer's output to the check's folder as a `.npy` file, and the
comparison takes each layer as soon as both sides have written it and deletes its files
(app.check.streaming). A side that is ahead waits while the files it wrote and the comparison
has not taken come to WINDOW_BYTES, so at any moment each side holds at most the window or
one layer output, whichever is larger, and never more than every layer output together.
Keras' files of a compared layer that a layer still to be compared takes (or one that
failed: app.check.rejudge judges it again on them) are kept beside, within KEEP_BYTES:

    layer outputs  at_once + min(activation_bytes × batch, at_once + KEEP_BYTES)
                   at_once = min(activation_bytes × batch,
                                 max(WINDOW_BYTES, largest_output_bytes × batch))
    model outputs  2 × output_bytes × batch      kept to the end (compared last, and exported)
    weights        2 × weight_bytes               the exported program's weights.npz, and a
                                                  spec's weights.npz or a Keras 3 copy of a file
    inputs         2 × input_bytes × batch        inputs.npz, and the exported program's copy

(activation_bytes counts the inputs with the layer outputs: app.check.budgets.) The figures
are per sample; the check runs at its batch (2 for seeded inputs, the caller's otherwise).
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from app.check.budgets import BudgetFigures
from app.check.rejudge import KEEP_BYTES
from app.check.streaming import WINDOW_BYTES
from app.errors import DiskBudgetExceeded, DiskFull

GiB = 1 << 30
# Every keras.applications model at its default size, batch 2, needs at most 4.8 GB
# (ConvNeXtXLarge: its 1.4 GB of weights twice; bench/disk_need.py); 8 GiB leaves room.
DEFAULT_MAX_DISK_BYTES = 8 * GiB

WAY_OUT = (
    " Save the model with a smaller input size, or send inputs of batch 1 (the seeded inputs "
    "are 2 samples), to check it; or send check=false for the breakdown alone."
)


@dataclass(frozen=True)
class DiskNeed:
    """The most a check writes at once, in bytes, by what it is."""

    layer_outputs: int
    model_outputs: int
    weights: int
    inputs: int
    batch: int

    @property
    def total(self) -> int:
        return self.layer_outputs + self.model_outputs + self.weights + self.inputs


def disk_need(
    figures: BudgetFigures, batch: int, window: int = WINDOW_BYTES, keep: int = KEEP_BYTES
) -> DiskNeed:
    """What a check of a model with `figures` writes at once at `batch` (module docstring)."""
    every_layer = figures.activation_bytes * batch
    at_once = min(every_layer, max(window, figures.largest_output_bytes * batch))
    return DiskNeed(
        layer_outputs=at_once + min(every_layer, at_once + keep),
        model_outputs=2 * figures.output_bytes * batch,
        weights=2 * figures.weight_bytes,
        inputs=2 * figures.input_bytes * batch,
        batch=batch,
    )


def enforce_disk_budget(need: DiskNeed, max_disk_bytes: int) -> None:
    """Raise 422 `disk-budget-exceeded` when the check needs more than the budget."""
    if need.total > max_disk_bytes:
        raise DiskBudgetExceeded(
            f"The check needs {need.total:,} bytes of disk at once at batch {need.batch}; the "
            f"explainer gives a check at most {max_disk_bytes:,}." + WAY_OUT,
            details={
                "exceeded": ["disk_bytes"],
                "figures": {"disk_bytes": need.total, **asdict(need)},
                "limits": {"max_disk_bytes": max_disk_bytes},
            },
        )


def budgeted_need(figures: BudgetFigures, batch: int, max_disk_bytes: int) -> DiskNeed:
    """The disk the check needs at once (`disk_need`), refused over `max_disk_bytes`."""
    need = disk_need(figures, batch)
    enforce_disk_budget(need, max_disk_bytes)
    return need


def free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def enforce_free_space(need: DiskNeed, folder: Path) -> None:
    """Raise 503 `disk-full` when the disk under `folder` has less free space than the check
    needs (checks already running, other files: the budget alone cannot know)."""
    free = free_bytes(folder)
    if need.total > free:
        raise DiskFull(
            f"The check needs {need.total:,} bytes of disk at once and the server has "
            f"{free:,} free just now; try again later, or send inputs of batch 1 or "
            "check=false.",
            details={"figures": {"disk_bytes": need.total, **asdict(need)}, "free_bytes": free},
        )
