"""How numbers, shapes and sizes are written, the same in pages and in the terminal."""

from __future__ import annotations

from typing import Any

BYTE_UNITS = ("B", "KB", "MB", "GB", "TB")


def count(value: int | float | None) -> str:
    """12,345 (thousands separated)."""
    return "—" if value is None else f"{value:,}"


def shape(value: Any) -> str:
    """`[None, 512]` → `(None, 512)`; lists of shapes joined with commas."""
    if value is None:
        return "?"
    if value and all(isinstance(v, list) for v in value):
        return ", ".join(shape(v) for v in value)
    inner = ", ".join("None" if d is None else str(d) for d in value)
    return f"({inner},)" if len(value) == 1 else f"({inner})"


def human_bytes(value: int | None) -> str:
    """1.2 MB (powers of 1000, as model sizes are usually quoted)."""
    if value is None:
        return "—"
    size = float(value)
    for unit in BYTE_UNITS:
        if size < 1000 or unit == BYTE_UNITS[-1]:
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1000
    return f"{value} B"


def number(value: float | None, digits: int = 6) -> str:
    """A float with `digits` significant digits; exact zero stays 0."""
    if value is None:
        return "—"
    return f"{value:.{digits}g}"


def percent(part: int | float, whole: int | float) -> str:
    """12.3%; a share that rounds to 0% or 100% but is not says so: <0.1%, >99.9%."""
    if not whole or not part:
        return "0%"
    share = 100 * part / whole
    if share < 0.05:
        return "<0.1%"
    if 99.95 <= share < 100:
        return ">99.9%"
    return f"{share:.1f}%"


def error(value: float | None) -> str:
    """An error size: 6.95e-07, 0.0123; exact zero is 0; None (not compared) is —."""
    if value is None:
        return "—"
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}"
    return f"{value:.2e}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """1 layer, 2 layers, 1,024 channels."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def mebibytes(value: int) -> str:
    """1,024 MiB: the unit the service's size limits are set and refused in."""
    return f"{value / (1 << 20):,.0f} MiB"


def keras_call(value: str | None, mode: str = "inference") -> str:
    """The call Keras ran, as Python: `model(x, training=False)` or `model.predict(x)`."""
    if value is None:
        return "—"
    if value == "predict":
        return "model.predict(x)"
    return f"model(x, training={mode == 'training'})"
