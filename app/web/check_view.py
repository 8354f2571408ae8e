"""The manual-vs-predict check as the pages show it: status, progress, errors, outputs.

`static/live.js` moves the progress bar with the same stage order (`STAGES`, sent to it in a
data attribute) and swaps in the server-rendered section once the check has ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Any

from app.schemas import CheckLayer, CheckOutput, CheckReport
from app.web.charts import ErrorChart, ErrorPoint, error_chart

ACTIVE = ("queued", "running")
STAGES = ("queued", "loading", "building", "predicting", "writing", "comparing")
STAGE_LABELS = {
    "queued": "Waiting for a Keras worker",
    "loading": "Keras loads the model",
    "building": "Keras builds a model over every layer's output",
    "predicting": "Keras runs predict",
    "writing": "Keras hands over each layer's outputs",
    "comparing": "Comparing our NumPy forward with Keras, layer by layer",
}
STATUS_TITLES = {
    "not_run": "Not run",
    "queued": "Queued",
    "running": "Running",
    "passed": "Passed",
    "failed": "Failed",
    "unsupported": "Not supported",
    "refused": "Refused",
    "error": "Error",
}
TONES = {"passed": "good", "failed": "bad", "error": "bad", "queued": "busy", "running": "busy"}
OUTPUT_ROWS = 200  # values listed side by side per output; the JSON has all of them


@dataclass(frozen=True)
class Step:
    stage: str
    label: str
    state: str  # done, current, todo


@dataclass(frozen=True)
class ProgressView:
    stage: str
    label: str
    done: int
    total: int
    percent: int
    steps: list[Step]


@dataclass(frozen=True)
class ValueRow:
    index: str
    ours: float | None
    keras: float | None


@dataclass(frozen=True)
class OutputView:
    output: CheckOutput
    rows: list[ValueRow]
    values: int

    @property
    def truncated(self) -> bool:
        return self.values > len(self.rows)


@dataclass(frozen=True)
class LayerError:
    layer: CheckLayer
    anchor: str | None


@dataclass(frozen=True)
class CheckView:
    check: CheckReport
    title: str
    tone: str
    active: bool
    progress: ProgressView | None
    chart: ErrorChart | None
    layers: list[LayerError]
    first: LayerError | None
    outputs: list[OutputView]
    failed: int
    carried: int  # passed on Keras' own inputs, over the tolerance end to end

    @property
    def status(self) -> str:
        return self.check.status

    @property
    def stages(self) -> str:
        """The stage order, for static/live.js to place the bar as this module does."""
        return " ".join(STAGES)


def check_view(check: CheckReport, anchors: dict[str, str]) -> CheckView:
    layers = [LayerError(layer, anchors.get(layer.name)) for layer in check.layers]
    first = next((e for e in layers if e.layer.name == check.first_divergence), None)
    return CheckView(
        check=check,
        title=STATUS_TITLES[check.status],
        tone=TONES.get(check.status, "neutral"),
        active=check.status in ACTIVE,
        progress=progress_view(check),
        chart=_chart(check) if check.layers else None,
        layers=layers,
        first=first,
        outputs=[output_view(output) for output in check.outputs],
        failed=sum(layer.verdict == "failed" for layer in check.layers),
        carried=sum(
            layer.verdict == "passed" and (layer.max_rel_error or 0.0) > (check.tolerance or 0.0)
            for layer in check.layers
        ),
    )


def progress_view(check: CheckReport) -> ProgressView | None:
    """Where a queued or running check is; None once it has ended."""
    if check.status not in ACTIVE:
        return None
    progress = check.progress
    stage = progress.stage if progress else "queued"
    done, total = (progress.done, progress.total) if progress else (0, 1)
    return ProgressView(
        stage=stage,
        label=STAGE_LABELS[stage],
        done=done,
        total=total,
        percent=stage_percent(stage, done, total),
        steps=_steps(stage),
    )


def stage_percent(stage: str, done: int, total: int) -> int:
    """How far along the bar is: each stage an equal part, filled by done/total within it."""
    within = done / total if total > 0 else 0.0
    return round(100 * (STAGES.index(stage) + min(1.0, within)) / len(STAGES))


def _steps(current: str) -> list[Step]:
    at = STAGES.index(current)
    return [Step(stage, STAGE_LABELS[stage], _state(i, at)) for i, stage in enumerate(STAGES)]


def _state(i: int, at: int) -> str:
    return "done" if i < at else "current" if i == at else "todo"


def _chart(check: CheckReport) -> ErrorChart:
    points = [
        ErrorPoint(
            name=layer.name,
            value=layer.max_rel_error,
            verdict=layer.verdict,
            first=layer.name == check.first_divergence,
        )
        for layer in check.layers
    ]
    return error_chart(points, check.tolerance)


def output_view(output: CheckOutput, limit: int = OUTPUT_ROWS) -> OutputView:
    """Our values and Keras' side by side, indexed as in the output's shape."""
    ours, keras = _flat(output.reference), _flat(output.keras)
    values = max(len(ours), len(keras))
    indices = list(_indices(output.shape, min(values, limit)))
    rows = [ValueRow(_index_label(ix), _at(ours, i), _at(keras, i)) for i, ix in enumerate(indices)]
    return OutputView(output=output, rows=rows, values=values)


def _flat(values: Any) -> list[float]:
    if values is None:
        return []
    if isinstance(values, list):
        return [v for item in values for v in _flat(item)]
    return [values]


def _indices(shape: list[int], limit: int):
    for i, index in enumerate(product(*(range(d) for d in shape))):
        if i >= limit:
            return
        yield index


def _index_label(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]"


def _at(values: list[float], i: int) -> float | None:
    return values[i] if i < len(values) else None
