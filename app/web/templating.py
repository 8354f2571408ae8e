"""Jinja templates from the project's `templates/`, with the filters the pages use.

Filters only format; every number they show was computed by an analysis. Links are paths,
never absolute URLs: an absolute URL would be built from the request's `Host` header, which
the client writes (`Host: evil.example` would make the page load evil.example's scripts).
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import markupsafe
from fastapi.templating import Jinja2Templates

from app.display import (
    count,
    error,
    human_bytes,
    keras_call,
    mebibytes,
    number,
    percent,
    plural,
    shape,
)
from app.web.static_files import version


def breakable(name: str) -> markupsafe.Markup:
    """A layer name that a narrow column breaks after its `_` (`conv2_block1_out`), never
    mid-word; `<wbr>` is the only markup, the name itself is escaped."""
    parts = [markupsafe.escape(part) for part in str(name).split("_")]
    return markupsafe.Markup("_<wbr>").join(parts)


PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = PROJECT_ROOT / "static"
FILTERS = {
    "breakable": breakable,
    "count": count,
    "error": error,
    "human_bytes": human_bytes,
    "keras_call": keras_call,
    "mebibytes": mebibytes,
    "number": number,
    "percent": percent,
    "plural": plural,
    "shape": shape,
}


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.filters.update(FILTERS)
    templates.env.globals["static_url"] = static_url
    return templates


@jinja2.pass_context
def static_url(context: jinja2.runtime.Context, path: str) -> str:
    """`/static/<path>?v=<version>` below the app's root path: a path, whatever the `Host`
    header says; the version lets browsers keep the file until its bytes change."""
    request = context["request"]
    where = request.scope.get("root_path", "") + request.app.url_path_for("static", path=path)
    return f"{where}?v={version(STATIC_DIR / path)}"
