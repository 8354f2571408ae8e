"""Geometry for the server-rendered SVG charts; the macros in `templates/_macros.html` draw it.

Each chart is an SVG stretched to its box (`preserveAspectRatio="none"`), so it fits a phone
and a laptop alike; its text is HTML beside it, so labels keep their size. The numbers drawn
are the report's; this module only places them.

    share bars     parameters per layer, trainable and non-trainable, on a 0..SHARE_WIDTH scale
    error chart    max_rel_error per layer on a log scale, with the tolerance line
    channel chart  one value per channel as a filled step line around zero
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.display import error

SHARE_WIDTH = 1000.0
MIN_VISIBLE = 2.0  # a non-zero share narrower than this is drawn this wide, so it shows
ERROR_HEIGHT = 100
BAR_SLOT = 10.0
BAR_FILL = 0.7
CHANNEL_HEIGHT = 100
CHANNEL_HEADROOM = 4
# An axis label is 18 px tall beside the channel chart's 112 px (7rem) plot: 16 hundredths of
# its height. Labels closer than this (in hundredths) would overlap; the 0 line's gives way.
LABEL_CLEARANCE = 20


@dataclass(frozen=True)
class ShareBar:
    """One row of the parameter chart: widths of its trainable and non-trainable parts."""

    trainable_width: float
    non_trainable_width: float

    @property
    def non_trainable_x(self) -> float:
        return self.trainable_width


def share_bar(trainable: int, non_trainable: int, total: int) -> ShareBar:
    """Widths on 0..SHARE_WIDTH for `trainable` and `non_trainable` out of `total`."""
    return ShareBar(_width(trainable, total), _width(non_trainable, total))


def _width(part: int, total: int) -> float:
    if part <= 0 or total <= 0:
        return 0.0
    return round(max(MIN_VISIBLE, SHARE_WIDTH * part / total), 2)


@dataclass(frozen=True)
class ErrorBar:
    x: float
    y: float
    width: float
    height: float
    verdict: str
    title: str  # what the bar says, read aloud and shown on hover
    first: bool
    href: str  # its row in the table of the layers compared, which shows its values


@dataclass(frozen=True)
class Tick:
    label: str
    top: float  # percent from the top of the plot


@dataclass(frozen=True)
class ErrorChart:
    width: float
    height: int
    bars: list[ErrorBar]
    tolerance_y: float | None
    tolerance_top: float | None  # percent from the top, for the HTML label
    ticks: list[Tick]


@dataclass(frozen=True)
class ErrorPoint:
    name: str
    value: float | None  # max_rel_error; None: not compared
    verdict: str
    first: bool = False
    title: str | None = None  # what its bar says; None: its max_rel_error and verdict
    href: str | None = None  # its row; None: the check's table, row by position


def error_chart(points: list[ErrorPoint], tolerance: float | None) -> ErrorChart:
    """Bars of `value` per point on a log scale that spans the values and the tolerance."""
    low, high = _decades([p.value for p in points] + [tolerance])
    scale = _LogScale(low, high, ERROR_HEIGHT)
    bars = [_error_bar(i, point, scale) for i, point in enumerate(points)]
    tolerance_y = scale.y(tolerance) if tolerance else None
    return ErrorChart(
        width=max(1, len(points)) * BAR_SLOT,
        height=ERROR_HEIGHT,
        bars=bars,
        tolerance_y=tolerance_y,
        tolerance_top=None if tolerance_y is None else round(100 * tolerance_y / ERROR_HEIGHT, 2),
        ticks=_ticks(low, high, scale),
    )


@dataclass(frozen=True)
class _LogScale:
    low: int  # decades: 10**low at the bottom, 10**high at the top
    high: int
    height: float

    def y(self, value: float) -> float:
        """The y of `value`; 0 and values below the bottom sit on the bottom."""
        if value <= 0:
            return self.height
        position = (math.log10(value) - self.low) / (self.high - self.low)
        return round(self.height * (1 - min(1.0, max(0.0, position))), 3)


def _decades(values: list[float | None]) -> tuple[int, int]:
    """Whole decades around the positive values: at least 10⁻⁹ to 10⁰, wider when needed."""
    positive = [v for v in values if v is not None and v > 0]
    low = min([-9] + [math.floor(math.log10(v)) for v in positive])
    high = max([0] + [math.ceil(math.log10(v)) for v in positive])
    return low, high


def _error_bar(i: int, point: ErrorPoint, scale: _LogScale) -> ErrorBar:
    gap = round(BAR_SLOT * (1 - BAR_FILL) / 2, 3)
    if point.value is None:
        y = scale.height - 2
    else:
        y = min(scale.y(point.value), scale.height - 1)  # an exact 0 still shows as a sliver
    return ErrorBar(
        x=i * BAR_SLOT + gap,
        y=y,
        width=round(BAR_SLOT * BAR_FILL, 3),
        height=round(scale.height - y, 3),
        verdict=point.verdict,
        title=point.title
        or f"{point.name}: max_rel_error {error(point.value)}, {verdict_words(point.verdict)}",
        first=point.first,
        href=point.href or f"#check-row-{i}",
    )


def verdict_words(verdict: str) -> str:
    return verdict.replace("_", " ")


def _ticks(low: int, high: int, scale: _LogScale) -> list[Tick]:
    step = 1 if high - low <= 6 else 3
    return [
        Tick(label=f"1e{d}" if d else "1", top=round(100 * scale.y(10.0**d) / scale.height, 2))
        for d in range(high, low - 1, -step)
    ]


@dataclass(frozen=True)
class AxisLabel:
    value: float
    top: float  # percent from the top of the plot


@dataclass(frozen=True)
class ChannelChart:
    width: int  # one unit per channel
    height: int
    area: str  # SVG path: the values as a filled step line down to zero
    zero_y: float
    flagged: list[int]
    top: float  # the values at the top and bottom of the scale
    bottom: float
    labels: list[AxisLabel]  # the y axis: the largest and smallest values, and 0 where it fits


def channel_chart(values: list[float | None], flagged: list[int] | None = None) -> ChannelChart:
    """A filled step line of `values` (one step per channel) around the zero line; a value
    that is not a number (None: NaN or ±Inf) sits on the zero line and is flagged."""
    finite = [v for v in values if v is not None]
    low, high = min([0.0, *finite]), max([0.0, *finite])
    if high == low:
        high = low + 1.0
    span = CHANNEL_HEIGHT - CHANNEL_HEADROOM

    def y(v: float | None) -> float:
        return round(CHANNEL_HEIGHT - ((v or 0.0) - low) / (high - low) * span, 2)

    zero = y(0.0)
    steps = "".join(f"V{y(v)}H{i + 1}" for i, v in enumerate(values))
    ends = [AxisLabel(v, y(v)) for v in (high, low) if v != 0 and v in finite]
    return ChannelChart(
        width=max(1, len(values)),
        height=CHANNEL_HEIGHT,
        area=f"M0 {zero}{steps}V{zero}Z",
        zero_y=zero,
        flagged=sorted(
            {c for c in (flagged or []) if 0 <= c < len(values)}
            | {c for c, v in enumerate(values) if v is None}
        ),
        top=high,
        bottom=low,
        labels=_with_zero(ends, AxisLabel(0.0, zero)),
    )


def _with_zero(ends: list[AxisLabel], zero: AxisLabel) -> list[AxisLabel]:
    """The axis labels top to bottom: the ends, and the 0 line's where it clears them both
    (in a chart of positive values 0 sits at the bottom, on its own)."""
    if any(abs(label.top - zero.top) < LABEL_CLEARANCE for label in ends):
        return ends
    return sorted([*ends, zero], key=lambda label: label.top)
