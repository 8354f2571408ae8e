"""Jinja templates from the project's `templates/`, with the filters the pages use.

Filters only format; every number they show was computed by an analysis.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from app.display import count, error, human_bytes, mebibytes, number, percent, plural, shape

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = PROJECT_ROOT / "static"
FILTERS = {
    "count": count,
    "error": error,
    "human_bytes": human_bytes,
    "mebibytes": mebibytes,
    "number": number,
    "percent": percent,
    "plural": plural,
    "shape": shape,
}


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.filters.update(FILTERS)
    return templates
