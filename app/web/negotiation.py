"""JSON or HTML for the same resource, from the Accept header.

`/api/v1/...` answers JSON unless the client prefers text/html; page URLs answer HTML unless
the client prefers application/json. Preference follows q-values; ties go to the URL's default.
"""

from __future__ import annotations

from starlette.requests import Request

API_PREFIX = "/api/"
HTML = "text/html"
JSON = "application/json"


def wants_html(request: Request) -> bool:
    """True when this request should be answered with a page."""
    default_html = not request.url.path.startswith(API_PREFIX)
    accept = _accept_qualities(request.headers.get("accept", ""))
    html, json = _quality(accept, HTML), _quality(accept, JSON)
    if html == json:
        return default_html
    return html > json


def _accept_qualities(header: str) -> dict[str, float]:
    qualities: dict[str, float] = {}
    for item in header.split(","):
        media, _, params = item.strip().partition(";")
        if media:
            qualities[media.strip().lower()] = _q(params)
    return qualities


def _q(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def _quality(accept: dict[str, float], media: str) -> float:
    """The q-value `accept` gives `media`, through `type/*` and `*/*` when not named."""
    kind = media.split("/")[0]
    for key in (media, f"{kind}/*", "*/*"):
        if key in accept:
            return accept[key]
    return 0.0
