"""The static files (CSS, scripts, icon): served with an ETag and a `Cache-Control`.

Pages link them as `/static/<path>?v=<digest of the file's bytes>` (`versioned`), so a
versioned address never changes meaning: the browser may keep it a year without asking.
An address without the version (an old bookmark, a tool) is revalidated on every use with
`If-None-Match`, which Starlette answers with 304 and no body when the ETag still matches.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

VERSIONED = "public, max-age=31536000, immutable"
UNVERSIONED = "no-cache"  # "store it, but ask (with the ETag) before each use"


class CachedStaticFiles(StaticFiles):
    """Starlette's static files (ETag, 304 on `If-None-Match`) plus `Cache-Control`."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            versioned = b"v=" in scope.get("query_string", b"")
            response.headers["cache-control"] = VERSIONED if versioned else UNVERSIONED
        return response


@cache
def version(path: Path) -> str:
    """The first 12 hex digits of the file's SHA-256: changes whenever its bytes do."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
