"""A long page sent as it is rendered, so the browser paints its top before the rest arrives.

A report page of a large model is mostly its layer table (EfficientNetB0: 650 KB of HTML, 48
KB before the table). Rendered whole and gzipped, it reaches the browser in one piece and
Chromium parses all of it before the first paint; sent in pieces (each flushed through the
gzip stream, which Starlette's GZipMiddleware does per piece), the summary and the charts
are painted while the table is still being rendered and parsed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

PIECE_BYTES = 32 * 1024  # the summary and charts fit in the first piece


def stream_template(request: Request, name: str, context: dict[str, Any]) -> StreamingResponse:
    """The template rendered piece by piece (the view was computed before: errors surface as
    an error page, not as half a page)."""
    template = request.app.state.templates.get_template(name)
    pieces = template.generate({**context, "request": request})
    return StreamingResponse(in_pieces(pieces), media_type="text/html; charset=utf-8")


def in_pieces(texts: Iterable[str], size: int = PIECE_BYTES) -> Iterator[bytes]:
    """Jinja's many small strings joined into pieces of at least `size` bytes."""
    buffered: list[bytes] = []
    held = 0
    for text in texts:
        data = text.encode()
        buffered.append(data)
        held += len(data)
        if held >= size:
            yield b"".join(buffered)
            buffered, held = [], 0
    if buffered:
        yield b"".join(buffered)
